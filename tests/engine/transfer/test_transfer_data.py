"""Data ingestion and validation: hostile zips, bad CSVs, corrupt images, built-in datasets."""

from __future__ import annotations

import io
import os
import stat
import zipfile

import numpy as np
import pytest
from PIL import Image

from engine.transfer import data as transfer_data
from engine.transfer.data import load_builtin, load_image_classes, load_image_zip, load_text_csv, load_upload


def png_bytes(colour=(255, 0, 0), size=(20, 20)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def make_zip(path, entries: dict[str, bytes], dirs: tuple[str, ...] = ()) -> str:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in dirs:
            archive.writestr(zipfile.ZipInfo(name), b"")
        for name, data in entries.items():
            archive.writestr(name, data)
    return str(path)


def good_entries(prefix: str = "") -> dict[str, bytes]:
    return {f"{prefix}red/{i}.png": png_bytes((250, 10, 10)) for i in range(3)} | {
        f"{prefix}blue/{i}.png": png_bytes((10, 10, 250)) for i in range(3)}


def listing(folder) -> set[str]:
    return {str(p) for p in folder.rglob("*")}


def test_zip_of_class_folders_loads_with_wrapping_folder(tmp_path):
    dataset = load_image_zip(make_zip(tmp_path / "d.zip", good_entries("mydata/")))
    assert dataset.class_names == ("blue", "red") and len(dataset) == 6
    assert dataset.items[0].shape == (128, 128, 3) and dataset.items[0].dtype == np.uint8
    assert set(dataset.labels.tolist()) == {0, 1}


@pytest.mark.parametrize("bad_name, message", [("../evil.png", "escape"), ("/etc/evil.png", "absolute"),
                                                ("red/../../evil.png", "escape"), ("C:\\evil.png", "absolute")])
def test_zip_traversal_is_refused_and_nothing_written(tmp_path, bad_name, message):
    session = tmp_path / "session"
    session.mkdir()
    archive = make_zip(session / "d.zip", good_entries() | {bad_name: png_bytes()})
    before = listing(tmp_path)
    with pytest.raises(ValueError, match=message):
        load_image_zip(archive)
    assert listing(tmp_path) == before
    assert not (tmp_path / "evil.png").exists()


def test_zip_symlink_is_refused(tmp_path):
    path = tmp_path / "links.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in good_entries().items():
            archive.writestr(name, data)
        link = zipfile.ZipInfo("red/link.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(ValueError, match="symbolic link"):
        load_image_zip(path)


def test_zip_bomb_is_refused_by_ratio_and_by_total_size(tmp_path, monkeypatch):
    bomb = make_zip(tmp_path / "bomb.zip", good_entries() | {"red/bomb.png": b"\0" * (8 * 2**20)})
    assert os.path.getsize(bomb) < 100_000
    with pytest.raises(ValueError, match="zip bomb"):
        load_image_zip(bomb)
    monkeypatch.setattr(transfer_data, "MAX_TOTAL_BYTES", 100)
    with pytest.raises(ValueError, match="expands to"):
        load_image_zip(make_zip(tmp_path / "big.zip", good_entries()))


def test_empty_class_folder_is_a_clear_error(tmp_path):
    archive = make_zip(tmp_path / "e.zip", good_entries(), dirs=("green/",))
    with pytest.raises(ValueError, match="'green' hold no readable images"):
        load_image_zip(archive)
    with pytest.raises(ValueError, match="'cats' is empty"):
        load_image_classes({"dogs": [png_bytes()] * 2, "cats": []})


def test_one_class_only_is_a_clear_error(tmp_path):
    archive = make_zip(tmp_path / "one.zip", {f"red/{i}.png": png_bytes() for i in range(4)})
    with pytest.raises(ValueError, match="Only one class"):
        load_image_zip(archive)


def test_class_with_one_example_is_a_clear_error(tmp_path):
    entries = good_entries() | {"green/0.png": png_bytes((0, 255, 0))}
    with pytest.raises(ValueError, match="'green' has 1 usable example.*at least 2"):
        load_image_zip(make_zip(tmp_path / "g.zip", entries))


def test_all_corrupt_images_is_a_clear_error_listing_skips(tmp_path):
    entries = {f"{c}/{i}.png": b"not an image at all" for c in ("a", "b") for i in range(3)}
    with pytest.raises(ValueError, match=r"No usable image examples.*6 skipped"):
        load_image_zip(make_zip(tmp_path / "c.zip", entries))


def test_some_corrupt_and_unsupported_files_are_skipped_and_reported(tmp_path):
    entries = good_entries() | {"red/broken.png": png_bytes()[:30], "blue/notes.txt": b"hello", "loose.png": png_bytes(),
                                "__MACOSX/red/._0.png": b"junk"}
    dataset = load_image_zip(make_zip(tmp_path / "s.zip", entries))
    skipped = dict(dataset.report.skipped)
    assert set(skipped) == {"red/broken.png", "blue/notes.txt", "loose.png"}
    assert "corrupt" in skipped["red/broken.png"] or "not an image" in skipped["red/broken.png"]
    assert len(dataset) == 6 and "Skipped 3" in dataset.report.to_markdown()


def test_label_imbalance_is_reported(tmp_path):
    entries = {f"red/{i}.png": png_bytes() for i in range(8)} | {f"blue/{i}.png": png_bytes((0, 0, 255)) for i in range(2)}
    dataset = load_image_zip(make_zip(tmp_path / "i.zip", entries))
    assert dataset.report.imbalance_ratio == 4.0
    assert any("imbalanced" in w for w in dataset.report.warnings)


def test_not_a_zip_and_unknown_type(tmp_path):
    fake = tmp_path / "fake.zip"
    fake.write_bytes(b"hello")
    with pytest.raises(ValueError, match="not a .zip"):
        load_image_zip(fake)
    other = tmp_path / "data.exe"
    other.write_bytes(b"MZ")
    with pytest.raises(ValueError, match="Unsupported data file type"):
        load_upload(other)


def test_csv_loads_with_sniffed_delimiter(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("Label;Text\nspam;win money now\nham;see you at lunch\nspam;free prize\nham;meeting at 3\n\n", encoding="utf-8")
    dataset = load_text_csv(path)
    assert dataset.class_names == ("ham", "spam") and dataset.items[0] == "win money now"


def test_csv_without_label_column_is_a_clear_error(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("text,category\nhello,a\nworld,b\n")
    with pytest.raises(ValueError, match="'text' and 'label' columns; found \\['text', 'category'\\]"):
        load_text_csv(path)


def test_csv_with_mixed_encodings_is_decoded_and_reported(tmp_path):
    path = tmp_path / "mixed.csv"
    rows = ["text,label", "café au lait,food", "naïve approach,other", "crème brûlée,food", "plain words,other"]
    raw = b"\n".join(row.encode("cp1252" if i == 2 else "utf-8") for i, row in enumerate(rows))
    path.write_bytes(raw)
    dataset = load_text_csv(path)
    assert "café au lait" in dataset.items and "naïve approach" in dataset.items
    assert any("Windows-1252" in w for w in dataset.report.warnings)
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes("\n".join(rows).encode("utf-16"))
    assert "crème brûlée" in load_text_csv(utf16).items


def test_csv_skips_empty_rows_and_binary_is_refused(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("text,label\nhello,a\n,a\nworld,\nfoo,a\nbar,b\nbaz,b\n")
    dataset = load_text_csv(path)
    assert len(dataset) == 4 and len(dataset.report.skipped) == 2
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(ValueError, match="binary"):
        load_text_csv(binary)


def test_builtin_datasets():
    textures = load_builtin("textures")
    assert textures.class_names == ("brick", "grass", "gravel") and len(textures) == 192
    faces = load_builtin("lfw-faces")
    assert faces.class_names == ("face", "non-face") and len(faces) == 200 and faces.items[0].shape == (25, 25, 3)
    text = load_builtin("text-topics")
    assert len(text.class_names) >= 3 and min(text.report.counts.values()) >= 30
    with pytest.raises(ValueError, match="Unknown built-in"):
        load_builtin("imagenet")
