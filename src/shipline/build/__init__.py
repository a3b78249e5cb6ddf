"""The ``build-cache`` action: build an image with layer caching, push it by digest, tag it immutably.

:func:`shipline.build.api.build_and_push` is the Python entry point for callers other
than the CLI (the main job, other actions).

Running it on this machine against a loopback registry (no Docker Hub needed)::

    # a registry on 127.0.0.1 (see tests/support/registry.py for the config it takes)
    python -m tests.support.baseimage 127.0.0.1:5000     # prints 127.0.0.1:5000/base/python:bookworm
    shipline build-cache --image 127.0.0.1:5000/shop/orders \
        --context examples/fastapi-service --sha "$(git rev-parse HEAD)" --tags v1.0.0 \
        --build-args BASE_IMAGE=127.0.0.1:5000/base/python:bookworm \
        --ca-bundle /etc/ssl/certs/ca-certificates.crt

Loopback registries are spoken to over plain HTTP automatically (``insecure: auto``).
"""
