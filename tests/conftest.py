"""Shared test settings: deterministic hypothesis, no lasting JAX flag changes."""

import hypothesis

hypothesis.settings.register_profile(
    "fromax", derandomize=True, deadline=None, max_examples=40, print_blob=True
)
hypothesis.settings.load_profile("fromax")
