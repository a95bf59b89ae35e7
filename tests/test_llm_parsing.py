"""Reading an LLM's answer: JSON objects found line by line, whatever wrapping the model adds,
and each turned into a Recommendation validated against the space."""

from __future__ import annotations

import json

import pytest

from llm_cash_magic.recommenders import Recommendation
from llm_cash_magic.recommenders.llm.parsing import AnswerReader, Found, Problem, Prose, read_recommendation

LGBM = {"family": "lightgbm", "params": {"learning_rate": 0.05}, "rationale": "boosting"}
RF = {"family": "random_forest", "params": {"n_estimators": 300}, "rationale": "a forest"}


def read_all(text: str, pieces: int | None = None) -> list:
    """The objects and problems of ``text`` (lines of prose are counted elsewhere)."""
    reader = AnswerReader()
    size = pieces or len(text) or 1
    found = [item for i in range(0, len(text), size) for item in reader.feed(text[i : i + size])]
    return [item for item in found + reader.close() if not isinstance(item, Prose)]


def values(items) -> list:
    return [item.value for item in items if isinstance(item, Found)]


def test_one_object_per_line_is_read_as_soon_as_its_line_ends():
    reader = AnswerReader()
    assert reader.feed(json.dumps(LGBM)) == []  # the line is not finished yet
    first = reader.feed("\n" + json.dumps(RF)[:10])
    assert values(first) == [LGBM]
    assert values(reader.feed(json.dumps(RF)[10:] + "\n")) == [RF]


@pytest.mark.parametrize("size", [1, 3, 17])
def test_text_arriving_in_pieces_of_any_size_gives_the_same_objects(size):
    text = f"{json.dumps(LGBM)}\n{json.dumps(RF)}\n"
    assert values(read_all(text, size)) == [LGBM, RF]


def test_a_last_line_without_newline_is_read_at_the_end():
    assert values(read_all(json.dumps(LGBM))) == [LGBM]


def test_code_fences_and_prose_around_the_json_are_skipped():
    text = f"Here are my picks:\n```json\n{json.dumps(LGBM)}\n{json.dumps(RF)}\n```\nGood luck!"
    assert values(read_all(text)) == [LGBM, RF]


def test_reasoning_in_think_tags_is_skipped_even_when_it_drafts_json():
    draft = {"family": "knn", "params": {}}
    text = f"<think>\nmaybe\n{json.dumps(draft)}\nno, boosting\n</think>\n{json.dumps(LGBM)}\n"
    assert values(read_all(text, 4)) == [LGBM]


def test_json_quoted_in_the_middle_of_prose_is_a_draft_not_the_answer():
    text = f'Okay, maybe {{"family": "mlp", "params": {{}}}} is good.\n</think>\n{json.dumps(LGBM)}\n'
    assert read_all(text, 5) == [Found(3, LGBM)]


def test_a_lone_closing_think_tag_drops_a_draft_left_open_before_it():
    text = f'Let me draft one:\n{{"family": "mlp", "params": {{\nhmm, no.</think>{json.dumps(LGBM)}\n{json.dumps(RF)}'
    assert read_all(text, 6) == [Found(3, LGBM), Found(4, RF)]


@pytest.mark.parametrize(
    "unclosed",
    [
        '{"family": "knn", "params": {"n_neighbors": 7}, "rationale": "x"',  # no closing brace
        '{"family": "knn", "params": {}, "rationale": "say "hi"}',  # an odd number of quotes
    ],
)
def test_an_object_that_never_closes_costs_only_itself(unclosed):
    items = read_all(f"{unclosed}\n{json.dumps(LGBM)}\n{json.dumps(RF)}\n")
    assert items[1:] == [Found(2, LGBM), Found(3, RF)]
    assert items[0] == Problem(1, "this JSON object is never closed")


def test_objects_on_their_own_lines_inside_a_wrapper_belong_to_it():
    text = f'{{"recommendations": [\n  {json.dumps(LGBM)},\n  {json.dumps(RF)}\n]}}\n'
    assert read_all(text) == [Found(1, LGBM), Found(1, RF)]


def test_a_whole_array_on_one_line_gives_each_object():
    assert values(read_all(json.dumps([LGBM, RF]))) == [LGBM, RF]


def test_an_array_spread_over_lines_gives_each_object_as_its_line_ends():
    text = f"[\n  {json.dumps(LGBM)},\n  {json.dumps(RF)}\n]\n"
    reader = AnswerReader()
    lines = text.splitlines(keepends=True)
    assert values(reader.feed("".join(lines[:2]))) == [LGBM]
    assert values(reader.feed("".join(lines[2:]))) == [RF]


def test_pretty_printed_objects_are_read_when_they_close():
    text = json.dumps([LGBM, RF], indent=2)
    assert values(read_all(text, 5)) == [LGBM, RF]


def test_a_wrapper_object_gives_the_objects_it_wraps():
    assert values(read_all(json.dumps({"recommendations": [LGBM, RF]}))) == [LGBM, RF]


def test_numbered_list_markers_before_objects_are_skipped():
    text = f"1. {json.dumps(LGBM)}\n2) {json.dumps(RF)}\n"
    assert values(read_all(text)) == [LGBM, RF]


def test_trailing_commas_bare_decimals_and_python_literals_are_repaired():
    text = '{"family": "lightgbm", "params": {"learning_rate": .05, "reg_alpha": -.5,}, "x": True, "y": None,},'
    (item,) = read_all(text)
    assert item.value == {
        "family": "lightgbm",
        "params": {"learning_rate": 0.05, "reg_alpha": -0.5},
        "x": True,
        "y": None,
    }
    assert item.repaired


def test_repairs_leave_string_contents_alone():
    text = '{"family": "lightgbm", "rationale": "use .5, None or True,}", "params": {},}'
    (item,) = read_all(text)
    assert item.value["rationale"] == "use .5, None or True,}"


def test_braces_inside_strings_do_not_end_an_object():
    obj = {"family": "lightgbm", "params": {}, "rationale": 'a } and a { and \\" quote'}
    assert values(read_all(json.dumps(obj), 3)) == [obj]


def test_an_object_that_is_not_json_is_a_problem_naming_its_line():
    (problem,) = read_all("thinking…\n{'family': 'lightgbm'}\n")
    assert isinstance(problem, Problem)
    assert problem.line == 2
    assert "not valid JSON" in problem.reason


def test_an_answer_ending_inside_an_object_is_a_problem():
    items = read_all(json.dumps(LGBM) + '\n{"family": "random_forest", "params": {"n_est')
    assert values(items) == [LGBM]
    assert isinstance(items[-1], Problem) and "ended inside" in items[-1].reason


def test_json_nested_too_deeply_is_a_problem_of_its_line():
    deep = '{"family": "knn", "params": {"p": ' + "[" * 3000 + "]" * 3000 + "}}"
    items = read_all(f"{deep}\n{json.dumps(LGBM)}\n")
    assert items == [Problem(1, "JSON nested too deeply"), Found(2, LGBM)]


@pytest.mark.parametrize(
    "answer",
    [
        "<html><body>502 Bad Gateway</body></html>\n\x00\x01 lorem ipsum",
        "| family | params |\n|---|---|\n| lightgbm | learning_rate 0.05 |\n",
        "",
    ],
)
def test_an_answer_without_any_json_object_is_one_problem_saying_so(answer):
    (problem,) = read_all(answer)
    assert str(problem) == "no JSON object found in the answer"


# ---- one object → a validated Recommendation ----------------------------------------------


def recommendation(value, task="binary"):
    return read_recommendation(Found(3, value), task, "llm:test")


def test_a_valid_object_becomes_a_complete_recommendation():
    rec = recommendation(LGBM)
    assert isinstance(rec, Recommendation)
    assert rec.family == "lightgbm" and rec.params["learning_rate"] == 0.05
    assert rec.params["num_leaves"] == 31  # the library default fills what was left out
    assert rec.source == "llm:test" and rec.rationale == "boosting" and rec.notes == ()


def test_an_unknown_family_is_a_problem_naming_the_known_ones():
    problem = recommendation({"family": "tabpfn", "params": {}})
    assert isinstance(problem, Problem) and problem.line == 3
    assert "unknown model family 'tabpfn'" in problem.reason and "lightgbm" in problem.reason


def test_a_missing_family_is_a_problem():
    assert isinstance(recommendation({"params": {"C": 1}}), Problem)


def test_params_that_are_not_a_mapping_are_a_problem():
    assert isinstance(recommendation({"family": "linear", "params": ["C", 1]}), Problem)


def test_unknown_parameters_are_dropped_with_a_note():
    rec = recommendation({"family": "lightgbm", "params": {"boosting_type": "dart", "learning_rate": 0.1}})
    assert "boosting_type" not in rec.params
    assert any("boosting_type" in note for note in rec.notes)


def test_values_of_the_wrong_type_fall_back_to_the_default_with_a_note():
    rec = recommendation({"family": "random_forest", "params": {"n_estimators": "lots", "bootstrap": "maybe"}})
    assert rec.params["n_estimators"] == 100 and rec.params["bootstrap"] is True
    assert len(rec.notes) == 2


def test_values_far_out_of_range_are_projected_with_a_note():
    rec = recommendation({"family": "lightgbm", "params": {"learning_rate": 1e9, "num_leaves": -5}})
    assert rec.params["learning_rate"] == 1.0 and rec.params["num_leaves"] == 2
    assert any("projected" in note for note in rec.notes)


def test_a_repaired_syntax_is_noted():
    rec = read_recommendation(Found(1, LGBM, repaired=True), "binary", "llm:test")
    assert rec.notes[0] == "repaired the JSON syntax"


def test_a_long_or_structured_rationale_is_kept_as_bounded_text():
    rec = recommendation({"family": "linear", "rationale": {"why": "x" * 2000}})
    assert isinstance(rec.rationale, str) and len(rec.rationale) <= 500


def test_a_family_that_is_not_installed_is_a_problem_saying_what_to_install(monkeypatch):
    import dataclasses

    from llm_cash_magic.space import FAMILIES

    monkeypatch.setitem(FAMILIES, "xgboost", dataclasses.replace(FAMILIES["xgboost"], requires="no_such_package"))
    problem = recommendation({"family": "XGBClassifier", "params": {"eta": 0.1}})
    assert isinstance(problem, Problem)
    assert 'XGBoost is not installed here: pip install "llm_cash_magic[no_such_package]"' in problem.reason


def test_lines_of_prose_are_counted_once_each_and_never_inside_reasoning():
    reader = AnswerReader()
    items = reader.feed("<think>long\nthoughts</think>\nHere you go:\n\n" + json.dumps(LGBM) + "\nbye")
    items += reader.close()
    assert [type(i).__name__ for i in items] == ["Prose", "Found", "Prose"]
