FROM registry.example.com/python@sha256:4f2fc2b3f8a6b4d5e9a1b0c7d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4
COPY app /srv/app
USER 10001:10001
CMD ["python", "-m", "app"]
