"""The %%bedrock / %bedrock option grammar (options.py): what a user may write on the first line."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from IPython.core.error import UsageError

from bedrock_magics.options import cell_help, line_help, parse_cell, parse_line


def lookup(city: str) -> str:
    """A tool."""
    return city


NS = {
    "model_id": "us.amazon.nova-lite-v1:0",
    "candidates": ["us.amazon.nova-lite-v1:0", "us.amazon.nova-micro-v1:0"],
    "limit": 64,
    "role": "a pirate",
    "reviews": pd.DataFrame({"text": ["good", "bad"]}),
    "lookup": lookup,
    "answer_count": 1,
}


def error(line: str, ns=NS, line_mode: bool = False) -> str:
    with pytest.raises(UsageError) as info:
        (parse_line if line_mode else parse_cell)(line, ns)
    assert type(info.value) is UsageError
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_every_option_of_the_contract_parses():
    o = parse_cell(
        "out -m m1 -r us-west-2 -e runtime -a chat -s 'Be brief.' --max-tokens 50 --temperature 0.2 "
        "--top-p 0.9 --stop END --stop STOP --no-stream -f json --profile dev --quiet", NS)
    assert (o.dest, o.models, o.region, o.endpoint, o.api, o.system) == ("out", ["m1"], "us-west-2", "runtime", "chat", "Be brief.")
    assert (o.max_tokens, o.temperature, o.top_p, o.stop) == (50, 0.2, 0.9, ["END", "STOP"])
    assert (o.stream, o.format, o.profile, o.quiet, o.mode) == (False, "json", "dev", True, "single")
    # --profile is not a call setting (the core takes none): the magic switches Bedrock.profile for the cell.
    assert o.settings() == {"model": "m1", "region": "us-west-2", "endpoint": "runtime", "api": "chat",
                            "system": "Be brief.", "max_tokens": 50, "temperature": 0.2, "top_p": 0.9,
                            "stop": ["END", "STOP"]}


def test_unset_options_leave_the_configuration_in_charge():
    o = parse_cell("", NS)
    assert o.dest is None and o.stream is None and o.format is None and o.settings() == {}


def test_repeated_model_means_compare():
    o = parse_cell("-m a -m b --concurrency 2", NS)
    assert o.models == ["a", "b"] and o.mode == "compare" and "model" not in o.settings()


def test_dollar_and_brace_values_come_from_the_namespace():
    o = parse_cell("-m $model_id --max-tokens {limit} -s 'You are {role}, costs $5, $$role'", NS)
    assert o.models == ["us.amazon.nova-lite-v1:0"]
    assert o.max_tokens == 64
    assert o.system == "You are a pirate, costs $5, $role"


def test_a_whole_dollar_name_holding_a_list_adds_each_model():
    assert parse_cell("-m $candidates", NS).models == NS["candidates"]


def test_no_format_keeps_option_values_literal():
    assert parse_cell("--no-format -s '{role} and $role'", NS).system == "{role} and $role"


def test_object_options_take_names():
    o = parse_cell("table --df reviews --out sentiment --concurrency 4 --no-cache", NS)
    assert o.df is NS["reviews"] and o.df_name == "reviews" and o.out == "sentiment" and o.mode == "map"
    assert o.cache is False and o.concurrency == 4
    assert parse_cell("--df $reviews", NS).df is NS["reviews"]
    assert parse_cell("--tools lookup", NS).tools == [lookup]


def test_chat_takes_an_optional_name():
    assert parse_cell("r --chat", NS).chat == "default"
    assert parse_cell("--chat trip", NS).chat == "trip"


def test_embed_and_job_modes():
    assert parse_cell("--df reviews --embed text", NS).mode == "embed"
    o = parse_cell("--df reviews --job s3://bucket/in/ --role arn:aws:iam::123456789012:role/Batch", NS)
    assert o.mode == "job" and o.job == "s3://bucket/in/"


@pytest.mark.parametrize(
    "line, expected",
    [
        ("--temprature 1", "unknown option --temprature (did you mean --temperature?)"),
        ("--temp 1", "did you mean --temperature?"),
        ("--format mkd", "did you mean markdown?"),
        ("--endpoint mantel", "did you mean mantle?"),
        ("--api convrse", "did you mean converse?"),
        ("-r us-wst-2", "Did you mean us-west-2"),
        ("--temperature 3", "--temperature must be between 0 and 1, got 3"),
        ("--top-p -0.5", "--top-p must be between 0 and 1"),
        ("--max-tokens 0", "--max-tokens must be at least 1"),
        ("--max-tokens many", "--max-tokens takes an integer, got 'many'"),
        ("-e mantle -a converse", "isn't served by the mantle endpoint"),
        ("-e mantle -a invoke", "use --api responses or --api chat"),
        ("answer extra", "unexpected 'extra' on the first line"),
        ("1answer", "DEST must be a Python variable name"),
        ("class", "DEST must be a Python variable name"),
        ("-s 'unclosed", "check the quotes"),
        ("--stream --no-stream", "not allowed with argument --stream"),
        ("-s $nobody", "no variable named 'nobody' for $nobody in the --system option; write $$nobody"),
        ("-s '{nobody}'", "no variable named 'nobody' for {nobody} in the --system option"),
        ("-m {nosuch}", "no variable named 'nosuch' for {nosuch} in the --model option"),
        ("-m '{nosuch[x]}'", "in the --model option"),
        ("-r us-west-2 -s '{role.upper}'", "{role.upper} in the --system option: attribute access"),
        ("-s '{role.upper}'", "attribute access isn't allowed"),
        ("--df review", "--df: no variable named 'review' in the notebook (did you mean reviews?)"),
        ("--df limit", "--df limit: limit is an int, not a pandas DataFrame"),
        ("--tools lookup,nothing", "--tools: no variable named 'nothing' in the notebook"),
        ("--tools limit", "limit is an int, not a function"),
        ("--out col", "--out needs --df FRAME"),
        ("--concurrency 3", "--concurrency applies to --df runs and -m comparisons"),
        ("--concurrency 0 -m a -m b", "--concurrency must be between 1 and 256"),
        ("-m a -m b --stream", "--stream applies to a single prompt, not to -m comparisons"),
        ("--df reviews --chat", "--chat applies to a single prompt, not to --df runs"),
        ("--df reviews --no-format", "--no-format would send the same text for every row"),
        ("--df reviews --job bucket/x", "--job takes an S3 prefix like s3://"),
        ("--df reviews --job s3://b/ --role admin", "--role takes an IAM role ARN"),
        ("--df reviews --embed text -m a -m b", "--embed runs one model"),
        ("--df reviews --embed text -s hi", "--system doesn't apply to --embed"),
    ],
)
def test_bad_lines_are_one_usage_error_line(line, expected):
    assert expected in error(line)


@pytest.mark.parametrize("option, setting, kind, values", [
    ("--temperature", "temperature", float, ["0", "0.7", "1", "1.01", "-0.1", "nan"]),
    ("--top-p", "top_p", float, ["0", "1", "1.5"]),
    ("--max-tokens", "max_tokens", int, ["1", "4096", "0", "-2"]),
])
def test_numeric_options_take_exactly_what_their_setting_takes(option, setting, kind, values):
    from traitlets import TraitError

    from bedrock_magics.config import BedrockSettings

    settings = BedrockSettings()
    for value in values:
        try:
            settings.validate_value(setting, kind(value))
        except TraitError:
            assert f"{option} must be " in error(f"{option} {value}"), value
        else:
            assert getattr(parse_cell(f"{option} {value}", NS), setting) == kind(value), value


def test_line_subcommands():
    assert parse_line("", NS).name == "help"
    assert parse_line("usage --all", NS).args.all is True
    assert parse_line("local", NS).args.action == "start"  # bare `%bedrock local` starts the service
    assert parse_line("local status", NS).args.action == "status"
    assert parse_line("local start", NS).args.action == "start"
    assert parse_line("key --clear", NS).args.clear is True
    chat = parse_line("chat trip --reset", NS).args
    assert (chat.chat_name, chat.reset) == ("trip", True)
    models = parse_line("models -r us-west-2 --provider Amazon --refresh", NS).args
    assert (models.region, models.provider, models.refresh) == ("us-west-2", "Amazon", True)
    job = parse_line("job collect nightly", NS).args
    assert (job.action, job.job_name) == ("collect", "nightly")
    assert parse_line("pick", NS).name == "pick" and parse_line("status", NS).name == "status"


@pytest.mark.parametrize(
    "line, expected",
    [
        ("modles", "did you mean %bedrock models?"),
        ("Explain tides", "or %%bedrock with the prompt in the cell body"),
        ("local strat", "did you mean start?"),
        ("job cancel nightly", "choose from status, collect"),
        ("job status", "the following arguments are required: NAME"),
        ("models -r mars-1", "Bedrock does not run in region 'mars-1'"),
        ("usage --everything", "unknown option --everything"),
        # Line sub-commands have no cell body: their errors never talk about one.
        ("status extra", "%bedrock status takes no arguments"),
        ("pick now", "%bedrock pick takes no arguments"),
        ("usage extra", "%bedrock usage: unexpected 'extra'; usage: %bedrock usage [--all]"),
        ("local start now", "%bedrock local: unexpected 'now'; usage: %bedrock local [start|stop|status|auto]"),
        ("job status {job[name]}", "no variable named 'job' for {job} in the %bedrock job line"),
        ("job status $job", "no variable named 'job' for $job in the %bedrock job line"),
    ],
)
def test_bad_subcommands_are_one_usage_error_line(line, expected):
    assert expected in error(line, line_mode=True)


def test_help_lists_every_option_and_subcommand():
    text = cell_help()
    for option in ("--model", "--region", "--endpoint", "--api", "--system", "--max-tokens", "--temperature",
                   "--top-p", "--stop", "--stream", "--no-stream", "--format", "--chat", "--tools", "--df", "--out",
                   "--embed", "--concurrency", "--dry-run", "--no-cache", "--job", "--role", "--profile", "--quiet",
                   "--no-format", "DEST"):
        assert option in text
    subs = line_help()
    for name in ("usage", "status", "local", "key", "chat", "models", "pick", "job", "help"):
        assert f"%bedrock {name}" in subs


def test_line_errors_never_mention_the_cell_body():
    for line in ("status extra", "usage extra", "local start now", "help me"):
        message = error(line, line_mode=True)
        assert "cell body" not in message and "first line" not in message, message


@pytest.mark.parametrize("region, shown", [("mars-1", None), ("ap-xyz", "ap-"), ("eu-nowhere-9", None)])
def test_an_unknown_region_lists_a_few_regions_not_all_of_them(region, shown):
    from bedrock_magics import endpoints

    message = error(f"-r {region}")
    listed = [r for r in endpoints.regions("runtime") if re.search(rf"\b{re.escape(r)}\b", message)]
    assert 1 <= len(listed) <= 8, message
    if shown:
        assert all(r.startswith(shown) for r in listed), message
    if len(listed) > 3:  # not a did-you-mean: say where the rest are
        assert f"{len(endpoints.regions('runtime'))} regions" in message


def test_help_reads_as_plain_text_with_dest_first():
    text = cell_help()
    assert text.startswith("usage: %%bedrock [DEST] [options]")
    assert "``" not in text and "::" not in text
    # Each sub-command's description starts in the same column, however long its usage.
    lines = line_help().splitlines()
    column = next(line for line in lines if "the ledger" in line).index("the ledger")
    for i, line in enumerate(lines):
        if line[column - 2:column] == "  " and line[column:column + 1].strip():
            assert line.startswith("  %bedrock ") or not line[:column].strip(), line_help()
        else:  # a usage too long for the column: its description starts the next line
            assert line.startswith("  %bedrock ") and not lines[i + 1][:column].strip(), line_help()
    assert "  %bedrock job status|collect NAME [--df FRAME]" in lines


@pytest.mark.parametrize("line, option", [
    ("-r us-east-1 -r us-west-2", "-r/--region"),
    ("-r us-east-1 --region us-west-2", "-r/--region"),  # the short and the long form are one option
    ("-e mantle -e runtime", "-e/--endpoint"),
    ("--max-tokens 5 --max-tokens 6", "--max-tokens"),
    ("-s 'Be brief.' --system 'Be long.'", "-s/--system"),
    ("--stream --stream", "--stream"),
    ("-q -q", "-q/--quiet"),
    ("--chat a --chat", "--chat"),
    ("--df reviews --df reviews --out x", "--df"),
])
def test_an_option_given_twice_is_one_usage_error_line_not_last_wins(line, option):
    assert error(line) == f"%%bedrock: {option} given twice; give it once (only -m, --stop, --image, --document, --video may repeat)"


def test_repeatable_options_still_repeat_and_sub_commands_refuse_repeats_too():
    o = parse_cell("-m a -m b --model c --stop X --stop Y", NS)
    assert o.models == ["a", "b", "c"] and o.stop == ["X", "Y"]
    assert error("models -r us-east-1 -r us-west-2", line_mode=True) == "%bedrock models: -r/--region given twice; give it once"
    assert parse_cell("-r us-east-1", NS).region == "us-east-1"  # the parser is reused: nothing carries over
