"""One module per tab: widgets plus thin handlers that call :mod:`engine`. No torch here."""
