"""The course structure of the notebooks (issue: course-ready): every chapter 01–05 and 07 has an
exercise with a checker and a hidden solution; every notebook ends with takeaways and questions with
hidden answers; prompts ask for a prediction before the answer; every checker is used and tested."""

import re
from pathlib import Path

import pytest

import loopvalley.checking as ex

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("0*.py"))
EXERCISE_CHAPTERS = ("01", "02", "03", "04", "05", "07")
CHECKERS = sorted(n for n in dir(ex) if n.startswith("check_"))


def _text(stem: str) -> str:
    return next(p for p in NOTEBOOKS if p.name.startswith(stem)).read_text()


@pytest.mark.parametrize("chapter", EXERCISE_CHAPTERS)
def test_chapter_has_an_exercise_with_checker_stub_and_solution(chapter):
    s = _text(chapter)
    assert "### Exercise" in s
    stubs = re.findall(r"def (\w+)\(.*\):\n(?:    #.*\n)*    raise NotImplementedError", s)
    assert stubs, "an exercise needs a stub the student fills in"
    for name in stubs:
        assert re.search(rf"{name} = check_{name}\({name}\)", s), f"{name}: the stub is not handed to its checker"
    assert "<details><summary>Solution</summary>" in s


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_ends_with_takeaways_and_questions(path):
    s = path.read_text()
    assert "## Key takeaways" in s and "## Check your understanding" in s
    tail = s[s.index("## Check your understanding"):]
    assert "<details>" in tail, "the questions' answers are hidden in a collapsible block"
    assert "Try this" not in s, "turn 'Try this' into a prediction with the answer after the cell"
    if not path.stem.startswith("00"):  # the syllabus teaches no mechanism of its own
        assert re.search(r"\*\*Predict", s), "at least one predict-then-run prompt"


@pytest.mark.parametrize("checker", CHECKERS)
def test_every_checker_is_used_in_its_chapter_and_tested(checker):
    chapter = getattr(ex, checker).__module__.rsplit(".", 1)[-1].replace("ch", "")  # loopvalley.checking.chNN
    assert f"{checker}(" in _text(chapter)
    assert checker in (ROOT / "tests" / f"test_exercises_ch{chapter}.py").read_text()
