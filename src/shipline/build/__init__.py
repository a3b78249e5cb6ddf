"""The ``build-cache`` action: build an image with layer caching, push it by digest, tag it immutably.

:func:`shipline.build.api.build_and_push` is the Python entry point for callers other
than the CLI (the main job, other actions).
"""
