"""Typed strategy settings, the one KEY=VALUE reader, and named presets (issue 19, item 3): every strategy declares
its settings with a type, range and help; text is converted by the declared type; presets resolve to a strategy and
typed settings, run the same as the equivalent ``--set`` flags, and are listed by ``nasviz search presets``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_search_support import score, write_table
from typer.testing import CliRunner

from nasviz.cli.main import app
from nasviz.errors import ConfigError
from nasviz.search import (
    PRESETS,
    FunctionObjective,
    RunStore,
    SearchConfig,
    SearchRunner,
    get_preset,
    parse_settings,
    preset_names,
    resolve_strategy,
    strategy_class,
    strategy_names,
)
from nasviz.settings import Setting, literal_value, parse_assignments, resolve_settings

ROOT = Path(__file__).resolve().parents[1]
cli = CliRunner()
GP_BO_CONSTRAINED_FLAGS = ["--set", "latency_model=raw", "--set", "min_feasible_probability=0.5",
                           "--set", "skip_degenerate=true", "--set", "min_feasible_probability_until=96",
                           "--set", "dead_code_encodings_below=0.1"]


# ---- typed settings ------------------------------------------------------------------------------

def test_text_is_converted_by_the_declared_type() -> None:
    late = Setting("late_after", "int", 0, "late phase", low=0, high=1000)
    assert late.convert("100") == 100 and type(late.convert("100")) is int
    assert late.convert(" 1e2 ") == 100 and late.convert(96.0) == 96  # a whole number written as a float
    rate = Setting("lr", "float", 0.01, low=0.0)
    assert rate.convert("1e-3") == 0.001 and rate.convert(2) == 2.0 and type(rate.convert(2)) is float
    flag = Setting("skip", "bool", False)
    assert flag.convert("TRUE") is True and flag.convert(" false") is False and flag.convert(True) is True
    model = Setting("latency_model", "choice", "log", choices=("log", "raw"))
    assert model.convert(" raw ") == "raw"
    weights = Setting("weights", "floats", [0.0, 0.5], low=0.0, high=1.0)
    assert weights.convert("0, 0.25,1") == [0.0, 0.25, 1.0] and weights.convert("[0, 1]") == [0.0, 1.0]
    assert weights.convert((0, 1)) == [0.0, 1.0]
    assert Setting("incumbent", "str", "best").convert(" 95 ") == "95"


@pytest.mark.parametrize(("setting", "value", "message"), [
    (Setting("late_after", "int", 0, low=0, high=1000), "-1", "setting late_after must be an integer in [0, 1000] "
                                                               "(default 0), got '-1' (out of range)"),
    (Setting("late_after", "int", 0, low=0), "2.5", "an integer >= 0 (default 0), got '2.5' (not a whole number)"),
    (Setting("late_after", "int", 0), "ten", "must be an integer (default 0), got 'ten'"),
    (Setting("late_after", "int", 0), True, "must be an integer"),
    (Setting("xi", "float", 0.0, high=1.0), "inf", "must be a number <= 1 (default 0.0), got 'inf'"),
    (Setting("xi", "float", 0.0), float("nan"), "(not finite)"),
    (Setting("skip", "bool", False), "yes", "must be true or false (default false), got 'yes'"),
    (Setting("skip", "bool", False), 1, "must be true or false"),
    (Setting("model", "choice", "log", choices=("log", "raw")), "sqrt", "must be one of log, raw"),
    (Setting("weights", "floats", [0.0], low=0.0, high=1.0), "0,2", "(each in [0, 1])"),
    (Setting("weights", "floats", [0.0]), "", "must be a list of numbers"),
    (Setting("name", "str", "a"), 3, "must be text"),
])
def test_a_bad_value_names_the_setting_its_type_and_range(setting: Setting, value: object, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        setting.convert(value, "strategy toy")
    assert str(error.value).startswith(f"strategy toy: setting {setting.name} must be ")
    assert message in str(error.value)


def test_a_setting_whose_default_does_not_fit_is_refused_at_declaration() -> None:
    for bad in (dict(kind="int", default=1.5), dict(kind="float", default=3), dict(kind="int", default=0, low=1),
                dict(kind="choice", default="c", choices=("a", "b")), dict(kind="bool", default="true"),
                dict(kind="str", default="a", choices=("a",)), dict(kind="vector", default=0)):
        with pytest.raises(ValueError):
            Setting("x", **bad)


def test_every_strategy_declares_typed_settings_with_help_and_valid_defaults() -> None:
    for name in strategy_names():
        cls = strategy_class(name)
        assert cls.defaults == {f.name: f.default for f in cls.setting_fields}
        assert cls.resolve_settings({}) == cls.defaults
        assert bool(cls.setting_fields) == (name != "random"), name
        for field in cls.setting_fields:
            assert field.help, (name, field.name)
            assert field.convert(field.text(field.default)) == field.default, (name, field.name)  # text round trip


def test_the_defaults_are_the_ones_every_existing_run_used() -> None:
    """Same names, same defaults: existing runs and stored configurations give the same result."""
    expected = {
        "re": {"population_size": 20, "sample_size": 5, "mutation_tries": 100, "infeasible_order": "violation"},
        "ls": {"initial_samples": 16, "infeasible_order": "violation"},
        "tpe": {"n_startup_trials": 10, "n_ei_candidates": 24, "multivariate": True, "max_repeat_proposals": 5},
        "gp-bo": {"initial_samples": 16, "features": "onehot", "candidates": 1000, "xi": 0.0,
                  "linear_weights": [0.0, 0.25, 0.5, 0.75, 0.9], "latency_model": "log",
                  "min_feasible_probability": 0.0, "refit_every": 1, "skip_degenerate": False,
                  "signal_encoding": "cell", "latency_encoding": "cell", "min_feasible_probability_until": 0,
                  "dead_code_encodings_below": 0.0},
        "agnet": {"initial_samples": 16, "retrain_epochs": 15, "candidates": 100, "alpha": 0.9, "k": 1e-3,
                  "uniform": 3.0, "max_batches": 9, "steps_per_epoch": 0, "round_size": 16, "late_after": 0,
                  "late_round_size": 16, "late_epochs": 15, "late_restart": True},
        "arch2vec-bo": {"initial_samples": 16, "hidden": 128, "epochs": 100, "lr": 1e-2, "batch_size": 32,
                        "ei_incumbent": "best", "xi": 0.0},
        "arch2vec-rl": {"hidden": 128, "lr": 1e-2, "episode_length": 16, "discount": 0.4, "baseline": 0.4,
                        "reward_scale": 0.01},
        "nao": {"initial_samples": 16, "epochs": 60, "top_k": 100, "max_step": 50, "trade_off": 0.8,
                "batch_size": 100, "round_size": 16},
    }
    for name, defaults in expected.items():
        assert strategy_class(name).defaults == defaults, name


def test_unknown_setting_and_settings_that_do_not_fit_together() -> None:
    with pytest.raises(ConfigError, match="unknown setting.s. populaton for strategy re; known: population_size, "
                                          "sample_size, mutation_tries, infeasible_order"):
        strategy_class("re").resolve_settings({"populaton": 3})
    with pytest.raises(ConfigError, match="1 <= sample_size <= population_size, got 10 and 15"):
        strategy_class("re").resolve_settings({"population_size": "10", "sample_size": "15"})
    with pytest.raises(ConfigError, match="ei_incumbent of strategy arch2vec-bo must be best or a number"):
        strategy_class("arch2vec-bo").resolve_settings({"ei_incumbent": "worst"})
    assert strategy_class("arch2vec-bo").resolve_settings({"ei_incumbent": "95.5"})["ei_incumbent"] == "95.5"
    with pytest.raises(ConfigError, match="unknown setting.s. x for toy; known: none"):
        resolve_settings((), {"x": 1}, "toy")


# ---- the one KEY=VALUE reader ---------------------------------------------------------------------

def test_one_key_value_reader_for_the_cli_the_page_and_evaluator_specs() -> None:
    from nasviz.evaluators.registry import parse_spec

    assert parse_assignments(["a=1", "  b = x=y ", "", "a=2"]) == {"a": "2", "b": "x=y"}  # a later KEY wins
    assert parse_settings(["population_size=10"]) == {"population_size": "10"}  # text, converted by the strategy
    for bad, message in (("population_size", "expected KEY=VALUE, e.g. population_size=20"),
                         ("=3", "the name before '=' is empty")):
        with pytest.raises(ConfigError, match=re.escape(message)):
            parse_settings([bad])
    with pytest.raises(ConfigError, match=re.escape("bad evaluator option 'epochs': expected KEY=VALUE, e.g. "
                                                    "epochs=4 (in 'live:nb201,epochs')")):
        parse_spec("live:nb201,epochs")
    assert parse_spec("live:nb201, epochs = 3 ,lr=1e-3,data_dir=none,flag=True") == {
        "kind": "live", "space": "nb201", "epochs": 3, "lr": 0.001, "data_dir": None, "flag": True}
    # the same text reads the same in a strategy setting and an evaluator option (the old readers disagreed: the
    # search one kept "True" as text and read "none" as text)
    assert strategy_class("tpe").resolve_settings(parse_settings(["multivariate=True"]))["multivariate"] is True
    assert [literal_value(t) for t in ("True", "none", "NULL", "-4", "2.5e-1", "nan", "abc ")] == \
        [True, None, None, -4, 0.25, "nan", "abc"]


def test_cli_text_becomes_the_declared_type() -> None:
    resolved = resolve_strategy("re", settings=parse_settings(["population_size=10", "infeasible_order=agnet"]))
    assert resolved.given == {"population_size": 10, "infeasible_order": "agnet"}
    assert type(resolved.given["population_size"]) is int
    late = resolve_strategy("agnet-8", settings=parse_settings(["late_after=100"]))
    assert late.given == {"round_size": 8, "retrain_epochs": 8, "late_after": 100}
    with pytest.raises(ConfigError, match=re.escape("strategy re: setting population_size must be an integer in "
                                                    "[2, 100000] (default 20), got 'abc'")):
        resolve_strategy("re", settings=parse_settings(["population_size=abc"]))


# ---- presets --------------------------------------------------------------------------------------

def test_presets_resolve_to_a_strategy_and_typed_settings() -> None:
    assert {"gp-bo-constrained", "agnet-8", "agnet-8-late"} <= set(preset_names())
    assert len(set(preset_names())) == len(PRESETS) and not set(preset_names()) & set(strategy_names())
    for preset in PRESETS:
        cls = strategy_class(preset.strategy)
        resolved = resolve_strategy(None, preset.name)
        assert resolved.strategy == cls.name and resolved.preset == preset.name
        assert resolved.given == dict(preset.settings) and resolved.settings == {**cls.defaults, **preset.settings}
        assert preset.description and preset.source
        for path in re.findall(r"benchmarks/[\w./-]+", preset.source):
            assert (ROOT / path.rstrip(".")).exists(), (preset.name, path)
    assert dict(get_preset("gp-bo-constrained").settings) == {
        "latency_model": "raw", "min_feasible_probability": 0.5, "skip_degenerate": True,
        "min_feasible_probability_until": 96, "dead_code_encodings_below": 0.1}
    assert get_preset("gp-bo-constrained").constrained
    assert dict(get_preset("agnet-8-late").settings) == {"round_size": 8, "retrain_epochs": 8, "late_after": 100}


def test_preset_overrides_aliases_and_conflicts() -> None:
    assert resolve_strategy("agnet-8").preset == "agnet-8"  # --algo agnet-8, as before it became a preset
    assert resolve_strategy("agnet", "agnet-8").preset == "agnet-8"
    over = resolve_strategy(None, "gp-bo-constrained", {"min_feasible_probability_until": "50"})
    assert over.given["min_feasible_probability_until"] == 50 and over.given["latency_model"] == "raw"
    assert resolve_strategy(None).strategy == "random"
    for algo, preset, message in (("re", "gp-bo-constrained", "preset gp-bo-constrained is a preset of gp-bo, not "
                                                              "of re"),
                                  (None, "nope", "unknown preset 'nope'; choose one of agnet-8"),
                                  ("agnet-8", "agnet-8-late", "give one preset"),
                                  ("annealing", None, "unknown search strategy 'annealing'.*or a preset: agnet-8")):
        with pytest.raises(ConfigError, match=message):
            resolve_strategy(algo, preset)


def test_an_old_stored_agnet_8_configuration_still_resolves() -> None:
    config = SearchConfig.from_dict({"space": "nb201", "algo": "agnet-8", "budget": 192, "seed": 3, "settings": {}})
    resolved = resolve_strategy(config.algo, config.preset, config.settings)
    assert (resolved.strategy, resolved.preset, resolved.given) == ("agnet", "agnet-8",
                                                                    {"round_size": 8, "retrain_epochs": 8})


def test_a_constrained_preset_without_a_limit_is_warned_about() -> None:
    objective = FunctionObjective("nb201", score)
    runner = SearchRunner(SearchConfig(preset="gp-bo-constrained", budget=20), objective=objective, store=RunStore())
    assert any("preset gp-bo-constrained is meant for a latency limit" in w for w in runner.warnings)
    assert runner.config.algo == "gp-bo" and runner.strategy.settings["min_feasible_probability_until"] == 96
    assert not SearchRunner(SearchConfig(algo="gp-bo", budget=20), objective=objective, store=RunStore()).warnings


# ---- the CLI --------------------------------------------------------------------------------------

def _queried(run_id: int) -> list[str]:
    return [q.cell_id for q in RunStore().queries(run_id)]


def test_preset_runs_the_same_as_its_set_flags_and_is_recorded() -> None:
    write_table()
    common = ["search", "--budget", "19", "--device", "pixel3", "--max-latency", "3", "--json"]
    by_preset = cli.invoke(app, [*common, "--preset", "gp-bo-constrained"])
    by_flags = cli.invoke(app, [*common, "--algo", "gp-bo", *GP_BO_CONSTRAINED_FLAGS])
    assert by_preset.exit_code == 0 and by_flags.exit_code == 0, by_preset.output + by_flags.output
    preset_run, flags_run = (json.loads(out.stdout)["runs"][0]["run_id"] for out in (by_preset, by_flags))
    assert _queried(preset_run) == _queried(flags_run) and len(set(_queried(preset_run))) == 19
    store = RunStore()
    info, plain = store.get_run(preset_run), store.get_run(flags_run)
    assert info.strategy == "gp-bo-constrained" and plain.strategy == "gp-bo"  # compared apart on the page
    assert info.config["algo"] == "gp-bo" and info.config["preset"] == "gp-bo-constrained"
    assert info.config["settings"] == dict(get_preset("gp-bo-constrained").settings) == plain.config["settings"]
    assert info.config["strategy"]["settings"] == plain.config["strategy"]["settings"]
    assert info.summary["strategy_decisions"] == plain.summary["strategy_decisions"]
    # --set on top of the preset; the override is recorded
    over = cli.invoke(app, [*common, "--preset", "gp-bo-constrained", "--set", "dead_code_encodings_below=0"])
    assert over.exit_code == 0, over.output
    over_info = store.get_run(json.loads(over.stdout)["runs"][0]["run_id"])
    assert over_info.config["settings"]["dead_code_encodings_below"] == 0.0
    assert "strategy_decisions" not in over_info.summary
    text = cli.invoke(app, ["search", "--budget", "17", "--preset", "gp-bo-constrained"])
    assert text.exit_code == 0 and "gp-bo-constrained (gp-bo) on nb201 cifar10" in text.stdout
    assert "preset gp-bo-constrained is meant for a latency limit" in text.stderr


def test_cli_refuses_bad_presets_and_settings_with_one_line() -> None:
    write_table()
    for args, message in ((["--preset", "fast"], "unknown preset 'fast'"),
                          (["--algo", "re", "--preset", "agnet-8"], "preset agnet-8 is a preset of agnet, not of re"),
                          (["--algo", "agnet-8", "--set", "late_after=-5"],
                           "setting late_after must be an integer in [0, 1000000] (default 0), got '-5'"),
                          (["--algo", "re", "--set", "sample_size=1.5"], "sample_size must be an integer")):
        out = cli.invoke(app, ["search", "--budget", "30", *args])
        assert out.exit_code == 2, (args, out.output)
        assert message in out.stderr and "Traceback" not in out.output
    assert RunStore().list_runs() == []


def test_search_presets_and_settings_commands() -> None:
    listed = cli.invoke(app, ["search", "presets", "--json"])
    assert listed.exit_code == 0, listed.output
    docs = json.loads(listed.stdout)
    assert [d["name"] for d in docs] == list(preset_names())
    assert all({"strategy", "settings", "description", "source"} <= set(d) for d in docs)
    text = cli.invoke(app, ["search", "presets"]).stdout
    assert "gp-bo-constrained  (strategy gp-bo, for a latency limit)" in text
    assert "--set latency_model=raw --set min_feasible_probability=0.5 --set skip_degenerate=true" in text
    shown = json.loads(cli.invoke(app, ["search", "settings", "agnet-8-late", "--json"]).stdout)
    assert shown["strategy"] == "agnet" and shown["preset"] == "agnet-8-late"
    rows = {row["name"]: row for row in shown["settings"]}
    assert rows["late_after"]["value"] == 100 and rows["late_after"]["default"] == 0
    assert rows["late_after"]["type"] == "int" and rows["late_after"]["min"] == 0
    human = cli.invoke(app, ["search", "settings", "gp-bo"]).stdout
    assert "latency_model=log: one of log, raw" in human and "skip_degenerate=false: true or false" in human
    assert cli.invoke(app, ["search", "settings", "random"]).stdout.strip() == "random: no settings"


def test_preset_help_names_every_preset() -> None:
    from nasviz.cli.search import PRESET_CHOICES

    assert [name.strip() for name in PRESET_CHOICES.split(",")] == list(preset_names())
