import pytest

from teams.pii import mask_email, mask_phone


@pytest.mark.parametrize(
    "raw,masked",
    [
        ("john.doe@example.com", "j***@example.com"),
        ("a@b.io", "a***@b.io"),
        ("", ""),
        (None, None),
    ],
)
def test_mask_email(raw, masked):
    assert mask_email(raw) == masked


@pytest.mark.parametrize(
    "raw,masked",
    [
        ("+447700900000", "+44*******000"),
        ("+14155550123", "+1*******123"),
        ("+4915123456789", "+49********789"),
        ("+971501234567", "+971******567"),
        (None, None),
    ],
)
def test_mask_phone(raw, masked):
    assert mask_phone(raw) == masked
