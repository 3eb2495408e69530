"""The ``admission.registries`` section: registry lookups for images with no Image object."""

from __future__ import annotations

import pytest

from sigverify.errors import InputError
from sigverify.policyfile.admission import RegistryAccess, parse_admission_config


def test_off_by_default() -> None:
    assert parse_admission_config({}).registries == RegistryAccess()
    assert RegistryAccess().enabled is False


def test_every_field() -> None:
    config = parse_admission_config(
        {
            "registries": {
                "enabled": True,
                "allowedHosts": ["quay.io", "registry.example.com:5000", "localhost"],
                "registriesD": "/etc/sigverify/registries.d",
                "authFile": "/run/secrets/auth.json",
                "certsDirectory": "/etc/sigverify/certs.d",
                "tlsVerify": False,
                "timeoutSeconds": 2.5,
            }
        }
    )
    assert config.registries == RegistryAccess(
        enabled=True,
        allowed_hosts=frozenset({"quay.io", "registry.example.com:5000", "localhost"}),
        registries_d="/etc/sigverify/registries.d",
        auth_file="/run/secrets/auth.json",
        certs_directory="/etc/sigverify/certs.d",
        tls_verify=False,
        timeout_seconds=2.5,
    )


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"enable": True}, "admission.registries.enable: Unknown field."),
        ({"enabled": "yes"}, "admission.registries.enabled: Not a valid boolean."),
        (
            {"allowedHosts": ["quay"]},
            "admission.registries.allowedHosts.0: 'quay' is not a registry host[:port]",
        ),
        (
            {"allowedHosts": ["https://quay.io"]},
            "admission.registries.allowedHosts.0: 'https://quay.io' is not a registry host[:port]",
        ),
        (
            {"timeoutSeconds": 0},
            "admission.registries.timeoutSeconds: Must be greater than or equal to 0.01 "
            "and less than or equal to 29.5.",
        ),
    ],
)
def test_mistakes_are_refused(section: dict[str, object], message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_admission_config({"registries": section})
    assert str(caught.value) == message
