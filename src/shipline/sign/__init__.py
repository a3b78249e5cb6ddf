"""The ``sign`` action: keyless Sigstore signatures and attestations of an image digest."""
