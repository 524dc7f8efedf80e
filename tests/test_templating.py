"""Safe ``{name}`` interpolation of prompts (templating.py): what a user's cell text turns into."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from bedrock_magics.templating import TemplateError, check, names, render
from conftest import Hostile

NS = {
    "topic": "tides",
    "n": 3,
    "pi": 3.14159,
    "person": {"name": "Ada", "first name": "Augusta", 0: "zero"},
    "items": ["apple", "pear"],
    "template_text": "{topic}",
}


def template_error(template: str, ns=NS, row=None) -> str:
    with pytest.raises(TemplateError) as info:
        render(template, ns, row)
    assert type(info.value) is TemplateError and isinstance(info.value, ValueError)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    "template, expected",
    [
        ("Explain {topic}.", "Explain tides."),
        ("{n} bullets", "3 bullets"),
        ("{pi:.2f}", "3.14"),
        ("{n:03d}", "003"),
        ("{person[name]}", "Ada"),
        ("{person['first name']}", "Augusta"),
        ('{person["name"]}', "Ada"),
        ("{person[0]}", "zero"),
        ("{items[1]}", "pear"),
        ("{topic!r}", "'tides'"),
        ("{topic}{n}", "tides3"),
    ],
)
def test_fields_are_filled_from_the_namespace(template, expected):
    assert render(template, NS) == expected


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "b": {"c": [1, 2]}}',  # JSON, including the closing }} of nested objects
        '[{"a": {"b": {"c": 1}}}]',  # }}} with no {{ to pair with: left alone
        "int m[2][2] = {{1, 2}, {3, 4}};",  # {{ that a }} does not close directly: left alone
        "function f(x) { return x + 1; }",
        "s = {1, 2, 3}",
        "print('{}'.format(1)); print('{0}')",
        "{% block %}",
        "a lone {{ that nothing closes",
        "nothing opens this }} lone pair",
        "const o = {a: 1, b: 2};",
        "{ topic }",  # spaces: not a field
        "a lone { brace and a lone } brace",
        "${HOME} and $topic in the body stay",  # $ is only expanded on the magic line
    ],
)
def test_braces_that_are_not_fields_are_left_alone(text):
    assert render(text, NS) == text


def test_double_braces_around_a_field_give_the_literal_field():
    assert render("Write {{topic}} in the template; value: {topic}", NS) == "Write {topic} in the template; value: tides"
    assert render("{{person[name]}} {{x.y}}", NS) == "{person[name]} {x.y}"


@pytest.mark.parametrize("template, expected", [
    ('{{"a": 1}}', '{"a": 1}'),  # str.format's escape: {{ and }} are literal braces
    ("Hello {{ jinja }}", "Hello { jinja }"),
    ("{{}}", "{}"),
    ("{{\n  \"a\": 1\n}}", "{\n  \"a\": 1\n}"),
    ("{{{topic}}}", "{tides}"),  # as str.format: a literal brace either side of the value
    ('{{"n": {n}}}', '{"n": 3}'),  # fields inside an escaped pair are still filled
    ('{{"a": {{"b": 1}}}}', '{"a": {"b": 1}}'),
])
def test_double_braces_are_literal_braces_as_in_str_format(template, expected):
    assert render(template, NS) == expected


def test_values_are_inserted_once_and_never_expanded_again():
    assert render("{template_text}", NS) == "{topic}"


def test_row_columns_take_precedence_over_the_namespace():
    row = {"topic": "volcanoes", "id": 7}
    assert render("{topic} #{id} in {n}", NS, row=row) == "volcanoes #7 in 3"
    series = pd.Series({"topic": "glaciers"})
    assert render("{topic}", NS, row=series) == "glaciers"


def test_unknown_name_names_it_and_says_how_to_escape():
    message = template_error("Tell me about {topc}.")
    assert "'topc'" in message
    assert "{{topc}}" in message
    assert "did you mean {topic}" in message


def test_unknown_name_in_a_row_mentions_columns():
    message = template_error("{colour}", ns={}, row={"color": "red"})
    assert "no column or variable named 'colour'" in message
    assert "{color}" in message  # the suggestion


@pytest.mark.parametrize("template", ["{topic.upper}", "{person.keys()}", "{items[0].title}"])
def test_attribute_access_is_refused(template):
    message = template_error(template)
    assert "attribute access isn't allowed" in message
    assert "{{" + template[1:-1] + "}}" in message


def test_calls_are_refused():
    message = template_error("{len(items)}")
    assert "a call isn't allowed" in message


def test_bad_index_and_bad_format_spec_are_one_line_errors():
    assert "no item 'age'" in template_error("{person[age]}")
    assert "no item 5" in template_error("{items[5]}").replace("'5'", "5")
    assert "can't format {n:zz}" in template_error("{n:zz}")


def test_names_lists_fields_but_not_escapes_or_code():
    assert names("{a} {b[0]} {{c}} {'d': 1} {e:>4}") == {"a", "b", "e"}


def test_check_accepts_columns_and_variables_and_refuses_the_rest():
    check("{topic} {score}", NS, columns=["score"])
    with pytest.raises(TemplateError, match="no column or variable named 'scor'"):
        check("{scor}", NS, columns=["score"])


def test_a_column_whose_name_is_not_an_identifier_is_filled_from_the_row():
    row = {"review text": "great value", "score (%)": 90, "a.b": "dotted"}
    assert render("Review: {review text}; {score (%)}; {a.b}", NS, row=row) == "Review: great value; 90; dotted"
    # Without a row (or without that column) the braces are just text, as any other non-field.
    assert render("{review text}", NS) == "{review text}"
    check("{review text} {score (%)} {a.b} {topic}", NS, columns=list(row))


def test_a_near_miss_of_such_a_column_names_the_column():
    with pytest.raises(TemplateError) as info:
        check("Review: {review txt}", NS, columns=["review text", "id"])
    assert type(info.value) is TemplateError
    assert "{review text}" in str(info.value) and "'review txt'" in str(info.value)
    check("JSON like {\"a\": 1} and { topic } stays", NS, columns=["review text"])  # not near any column


@pytest.mark.parametrize("where", ["the --system option", "the %bedrock job line"])
def test_errors_say_where_the_field_was(where):
    for template in ("{nobody}", "{topic.upper}", "{person[age]}", "{n:zz}"):
        with pytest.raises(TemplateError) as info:
            render(template, NS, where=where)
        assert f"in {where}" in str(info.value) and "prompt" not in str(info.value), str(info.value)


def test_templating_is_plain_python_and_its_errors_are_value_errors():
    # Outside IPython (a script calling bm.map), a bad template is a ValueError, and templating
    # doesn't drag IPython in; the magic turns it into its one UsageError line (test_magics).
    code = ("import sys\n"
            "from bedrock_magics.templating import TemplateError, render\n"
            "try:\n"
            "    render('{missing}', {})\n"
            "except ValueError as exc:\n"
            "    print(type(exc).__name__, 'IPython' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["TemplateError", "False"], out.stdout + out.stderr


@pytest.mark.parametrize("template, expected", [
    ("{bad}", "{bad} in the prompt: formatting bad raised RuntimeError: format failed"),
    ("{bad:>10}", "{bad:>10} in the prompt: formatting bad raised RuntimeError: format failed"),
    ("{bad!r}", "{bad!r} in the prompt: repr() of bad raised RuntimeError: repr failed"),
    ("{bad!s}", "{bad!s} in the prompt: str() of bad raised RuntimeError: str failed"),
    ("{bad!a}", "{bad!a} in the prompt: ascii() of bad raised RuntimeError: repr failed"),
    ("{bad[1]}", "{bad[1]} in the prompt: bad[1] raised LookupError: getitem failed"),
    ("{bad['k']}", "{bad['k']} in the prompt: bad['k'] raised LookupError: getitem failed"),
])
def test_a_user_object_whose_own_code_raises_is_one_line_naming_the_variable(template, expected):
    with pytest.raises(TemplateError) as info:
        render("Look: " + template, {"bad": Hostile()})
    assert str(info.value) == expected


def test_a_row_value_whose_own_code_raises_is_one_line_naming_the_column():
    with pytest.raises(TemplateError) as info:
        render("{review text} and {n}", {}, row={"review text": Hostile(), "n": 1})
    assert str(info.value) == "{review text} in the prompt: formatting review text raised RuntimeError: format failed"
