# NeuroDeck as a Hugging Face Docker Space (README front matter: sdk: docker, app_port: 7860). See docs/space.md.
# The install is the README's own CPU install line, in a fresh venv: CPU torch from PyTorch's CPU index,
# then the pinned lock with --no-deps, so nothing is compiled and no undeclared package comes in
# (tests/deploy/test_space_build.py runs these same pip commands as a dry run in CI).
FROM python:3.11-slim

# Spaces run the container as user 1000; its home holds the venv and the model caches (Hub, ~/.cache/neurodeck).
RUN useradd -m -u 1000 user
USER user
ENV HOME=/home/user \
    PATH=/home/user/venv/bin:$PATH \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1 \
    GRADIO_ANALYTICS_ENABLED=False \
    GRADIO_SERVER_NAME=0.0.0.0 \
    GRADIO_SERVER_PORT=7860
WORKDIR /home/user/app
RUN python -m venv /home/user/venv

COPY --chown=user . .
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu && pip install --no-deps -r requirements.txt

EXPOSE 7860
CMD ["python", "app.py"]
