"""Placeholders: the registry, finding and validating names, rendering with escaping and fallbacks."""

from __future__ import annotations

import pickle
import time
from decimal import Decimal

import pytest

from comms.placeholders import (
    BY_NAME,
    NAMESPACES,
    PLACEHOLDERS,
    REGISTRY,
    UnknownPlaceholder,
    find,
    render,
    sample_context,
    unknown,
    validate,
)

EXPECTED_NAMES = {
    "customer": ["first_name", "last_name", "full_name", "email", "phone", "country", "locale", "group",
                 "account_login"],
    "agent": ["first_name", "last_name", "full_name", "email"],
    "broker": ["platform_name", "support_email", "website_url", "company_name"],
    "transaction": ["id", "type", "amount", "currency", "status"],
    "account": ["login", "currency", "balance"],
}


# --- the registry --------------------------------------------------------------------------------------------------


def test_registry_holds_exactly_the_agreed_names_grouped_by_namespace():
    assert {ns: [p.name.split(".", 1)[1] for p in items] for ns, items in NAMESPACES.items()} == EXPECTED_NAMES
    assert len(BY_NAME) == len(REGISTRY) == 25


@pytest.mark.parametrize("placeholder", REGISTRY, ids=lambda p: p.name)
def test_registry_entry_has_description_and_sample(placeholder):
    assert placeholder.description.strip() and placeholder.sample.strip()
    assert placeholder.namespace in EXPECTED_NAMES


def test_placeholders_list_is_served_as_plain_dicts():
    assert [entry["name"] for entry in PLACEHOLDERS] == [p.name for p in REGISTRY]
    assert PLACEHOLDERS[0] == {"namespace": "customer", "name": "customer.first_name",
                               "description": "Customer's first name", "sample": "John", "default": "Client"}


def test_sample_context_is_a_fresh_dict_of_samples():
    context = sample_context()
    assert context == {p.name: p.sample for p in REGISTRY}
    context["customer.first_name"] = "Changed"
    assert sample_context()["customer.first_name"] == "John"


# --- find, unknown, validate ---------------------------------------------------------------------------------------

# (id, text, found)
FIND_CASES = [
    ("none", "Hello there", []),
    ("empty", "", []),
    ("plain", "Hi {{customer.first_name}}!", ["customer.first_name"]),
    ("inner-spaces", "Hi {{ customer.first_name }}!", ["customer.first_name"]),
    ("tabs-and-newlines", "{{\tcustomer.email\n}}", ["customer.email"]),
    ("order-of-first-use-deduplicated", "{{agent.email}} {{customer.email}} {{ agent.email }}",
     ["agent.email", "customer.email"]),
    ("adjacent", "{{customer.first_name}}{{customer.last_name}}", ["customer.first_name", "customer.last_name"]),
    ("single-braces-are-text", "{customer.first_name} and { x }", []),
    ("stray-closer-is-text", "a }} b", []),
    ("well-formed-unknown", "{{nope}} {{customer.password}}", ["nope", "customer.password"]),
    ("case-sensitive", "{{Customer.First_Name}}", ["Customer.First_Name"]),
    # Malformed: reported verbatim, braces included.
    ("malformed-space-in-name", "Hi {{ first name }}!", ["{{ first name }}"]),
    ("malformed-empty", "Hi {{}}!", ["{{}}"]),
    ("malformed-blank", "Hi {{  }}!", ["{{  }}"]),
    ("malformed-triple-braces", "{{{customer.first_name}}}", ["{{{customer.first_name}}"]),
    ("malformed-dash", "{{customer.first-name}}", ["{{customer.first-name}}"]),
    ("malformed-trailing-dot", "{{customer.}}", ["{{customer.}}"]),
    ("unclosed", "Hi {{customer.first_name", ["{{customer.first_name"]),
    ("unclosed-single-brace", "Hi {{customer.first_name}!", ["{{customer.first_name}!"]),
    ("unclosed-at-end", "Hi {{", ["{{"]),
    ("unclosed-on-its-line", "Hi {{ x y\n}}", ["{{ x y"]),
    ("malformed-next-to-valid", "{{ x y }} {{customer.email}}", ["{{ x y }}", "customer.email"]),
]


@pytest.mark.parametrize("text,found", [case[1:] for case in FIND_CASES], ids=[case[0] for case in FIND_CASES])
def test_find(text, found):
    assert find(text) == found


@pytest.mark.parametrize("text,names", [
    ("Hi {{ customer.first_name }} of {{broker.platform_name}}", []),
    (" ".join(f"{{{{{p.name}}}}}" for p in REGISTRY), []),
    ("Hi {{ customer.first_name }} {{customer.password}} {{nope}}", ["customer.password", "nope"]),
    ("{{customer}}", ["customer"]),  # a namespace is not a placeholder
    ("{{customer.first_name.initial}}", ["customer.first_name.initial"]),
    ("{{first_name}}", ["first_name"]),
    ("{{Customer.First_Name}}", ["Customer.First_Name"]),
    ("Hi {{ first name }}", ["{{ first name }}"]),
    ("Hi {{customer.first_name", ["{{customer.first_name"]),  # a known name, but never closed
    ("{{}}", ["{{}}"]),
])
def test_unknown(text, names):
    assert unknown(text) == names


def test_validate_accepts_known_placeholders():
    assert validate("Welcome, {{customer.first_name}}!", "<p>{{ broker.platform_name }}</p>", "") is None


@pytest.mark.parametrize("texts,names", [
    (("bad {{customer.secret}}",), ["customer.secret"]),
    (("ok {{customer.first_name}}", "bad {{customer.secret}}", "{{ nope }} {{customer.secret}}"),
     ["customer.secret", "nope"]),
    (("{{ first name }}",), ["{{ first name }}"]),
    (("Use {{",), ["{{"]),
])
def test_validate_refuses_unknown_and_malformed(texts, names):
    with pytest.raises(UnknownPlaceholder) as error:
        validate(*texts)
    assert error.value.names == names
    assert isinstance(error.value, ValueError)
    assert str(error.value) == "Unknown placeholders: " + ", ".join(names)


def test_unknown_placeholder_survives_pickling():
    error = pickle.loads(pickle.dumps(UnknownPlaceholder(["nope", "{{}}"])))
    assert error.names == ["nope", "{{}}"] and str(error) == "Unknown placeholders: nope, {{}}"


# --- render --------------------------------------------------------------------------------------------------------

HOSTILE = "<b>Jo & \"Co\" 'Ltd'</b>"

# (id, text, context, html, defaults, rendered)
RENDER_CASES = [
    ("text-value", "Hi {{customer.first_name}}!", {"customer.first_name": "Ana"}, False, None, "Hi Ana!"),
    ("inner-spaces", "Hi {{ customer.first_name }}!", {"customer.first_name": "Ana"}, False, None, "Hi Ana!"),
    ("repeated", "{{agent.email}} / {{ agent.email }}", {"agent.email": "a@x.io"}, False, None, "a@x.io / a@x.io"),
    # Escaping: only in HTML, quotes included (attributes).
    ("html-escapes", "Hi {{customer.first_name}}", {"customer.first_name": HOSTILE}, True, None,
     "Hi &lt;b&gt;Jo &amp; &quot;Co&quot; &#x27;Ltd&#x27;&lt;/b&gt;"),
    ("text-does-not-escape", "Hi {{customer.first_name}}", {"customer.first_name": HOSTILE}, False, None,
     f"Hi {HOSTILE}"),
    ("html-attribute", '<a href="{{broker.website_url}}">x</a>', {"broker.website_url": 'https://x.io/" onclick="a'},
     True, None, '<a href="https://x.io/&quot; onclick=&quot;a">x</a>'),
    ("template-markup-is-kept", "<p>{{customer.first_name}}</p>", {"customer.first_name": "Ana"}, True, None,
     "<p>Ana</p>"),
    # Values of other types.
    ("decimal", "{{account.balance}} {{account.currency}}", {"account.balance": Decimal("1000.50"),
                                                             "account.currency": "USD"}, False, None, "1000.50 USD"),
    ("zero-is-a-value", "{{account.balance}}", {"account.balance": 0}, False, None, "0"),
    ("int", "#{{transaction.id}}", {"transaction.id": 1042}, False, None, "#1042"),
    # Missing values: defaults, then the registry's default, then "".
    ("registry-default", "Hi {{customer.first_name}}", {}, False, None, "Hi Client"),
    ("registry-default-platform", "{{broker.platform_name}}", {}, False, None, "BrokerCRM"),
    ("registry-default-agent", "Call {{agent.full_name}}", {}, False, None, "Call your account manager"),
    ("empty-registry-default", "[{{customer.last_name}}]", {}, False, None, "[]"),
    ("none-is-missing", "Hi {{customer.first_name}}", {"customer.first_name": None}, False, None, "Hi Client"),
    ("empty-is-missing", "Hi {{customer.first_name}}", {"customer.first_name": ""}, False, None, "Hi Client"),
    ("blank-is-missing", "Hi {{customer.first_name}}", {"customer.first_name": "  "}, False, None, "Hi Client"),
    ("defaults-first", "Hi {{customer.first_name}}", {}, False, {"customer.first_name": "friend"}, "Hi friend"),
    ("defaults-for-empty-default", "{{customer.last_name}}!", {}, False, {"customer.last_name": "friend"},
     "friend!"),
    ("value-beats-defaults", "Hi {{customer.first_name}}", {"customer.first_name": "Ana"}, False,
     {"customer.first_name": "friend"}, "Hi Ana"),
    ("defaults-escaped-in-html", "Hi {{customer.first_name}}", {}, True, {"customer.first_name": "<you>"},
     "Hi &lt;you&gt;"),
    # Never raw braces from the template, and no second expansion of values.
    ("unknown-name", "Hi {{nope}}!", {}, False, None, "Hi !"),
    ("unknown-name-with-default", "Hi {{nope}}!", {}, False, {"nope": "there"}, "Hi there!"),
    ("malformed-closed-dropped", "Hi {{ first name }}!", {}, False, None, "Hi !"),
    ("unclosed-loses-braces", "Use {{ now", {}, False, None, "Use  now"),
    ("value-not-expanded-again", "Hi {{customer.first_name}}", {"customer.first_name": "{{agent.email}}"}, False,
     None, "Hi {{agent.email}}"),
    ("single-braces-kept", "{a} {{customer.first_name}}", {"customer.first_name": "Ana"}, False, None, "{a} Ana"),
    ("no-placeholders", "Plain text", {"customer.first_name": "Ana"}, True, None, "Plain text"),
    ("rtl", "مرحبا {{customer.first_name}}", {"customer.first_name": "أحمد"}, False, None, "مرحبا أحمد"),
]


@pytest.mark.parametrize("text,context,html,defaults,rendered", [case[1:] for case in RENDER_CASES],
                         ids=[case[0] for case in RENDER_CASES])
def test_render(text, context, html, defaults, rendered):
    assert render(text, context, html=html, defaults=defaults) == rendered


@pytest.mark.parametrize("html", [True, False])
@pytest.mark.parametrize("placeholder", REGISTRY, ids=lambda p: p.name)
def test_render_never_leaves_braces_for_a_missing_value(placeholder, html):
    rendered = render(f"[{{{{ {placeholder.name} }}}}]", {}, html=html)
    assert rendered == f"[{placeholder.default}]"


def test_render_of_the_product_sheet_template_with_samples():
    subject = "Welcome, {{customer.first_name}}!"
    body_html = "<p>Hello {{customer.first_name}},</p>\n<p>Your account with {{broker.platform_name}}\nis ready.</p>"
    validate(subject, body_html)
    assert render(subject, sample_context(), html=False) == "Welcome, John!"
    assert render(body_html, sample_context(), html=True) == \
        "<p>Hello John,</p>\n<p>Your account with BrokerCRM\nis ready.</p>"


def test_render_requires_choosing_html_or_text():
    with pytest.raises(TypeError):
        render("Hi", {})  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        render("Hi", {}, html=True, html_escape=False)


@pytest.mark.parametrize("html_escape,rendered", [(True, "&lt;b&gt;"), (False, "<b>")])
def test_render_accepts_the_former_html_escape_keyword(html_escape, rendered):
    assert render("{{customer.first_name}}", {"customer.first_name": "<b>"}, html_escape=html_escape) == rendered


@pytest.mark.parametrize("text", ["{{" * 50_000, "x{{ a" * 20_000, "{{ " + "a" * 100_000, "{{a}" * 25_000],
                         ids=["open-braces", "unclosed-placeholders", "long-unclosed", "single-closers"])
def test_find_and_render_are_linear_on_adversarial_input(text):
    start = time.perf_counter()
    find(text)
    render(text, {}, html=True)
    assert time.perf_counter() - start < 2
