"""YAML loading, unsafe and safe: the unsafe ones are flagged, the others must not be."""

import yaml


class ConfigLoader(yaml.SafeLoader):
    """A project's own loader: a SafeLoader subclass."""


def unsafe_by_name(text: str) -> object:
    return yaml.load(text, Loader=yaml.Loader)


def unsafe_positional(text: str) -> object:
    return yaml.load(text, yaml.UnsafeLoader)


def unsafe_all(text: str) -> object:
    return yaml.load_all(text, Loader=yaml.FullLoader)


def safe_by_name(text: str) -> object:
    return yaml.load(text, Loader=yaml.SafeLoader)


def own_loader(text: str) -> object:
    return yaml.load(text, Loader=ConfigLoader)
