"""A typed client for OCI registries (distribution API): manifests, blobs, tags, referrers.

Start from :class:`RegistryClient` (``shipline.oci.client``), :func:`parse_reference`
(``shipline.oci.reference``) and :class:`Credentials` (``shipline.oci.auth``).
"""

from shipline.oci.auth import Credentials, find_credentials, write_auth_file
from shipline.oci.client import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    Manifest,
    Referrers,
    RegistryAuthError,
    RegistryClient,
    RegistryError,
    RetryPolicy,
    referrers_tag,
    sha256_digest,
)
from shipline.oci.reference import ImageReference, ReferenceError, parse_reference, parse_repository

__all__ = [
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "Credentials",
    "Descriptor",
    "ImageReference",
    "Manifest",
    "ReferenceError",
    "Referrers",
    "RegistryAuthError",
    "RegistryClient",
    "RegistryError",
    "RetryPolicy",
    "find_credentials",
    "parse_reference",
    "parse_repository",
    "referrers_tag",
    "sha256_digest",
    "write_auth_file",
]
