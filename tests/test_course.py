"""The course structure of the notebooks (issues: course-ready, 27): every chapter 01–09 opens with
learning objectives and a study time and ends its teaching with references; every exercise and
derivation carries difficulty, importance, time and kind, a hint and a collapsed solution or worked
answer; stubs state the task without the formula; every solution passes its checker; 00 lists every
item, the course structure and a capstone; every checker is used in its chapter and tested."""

import importlib
import math
import re
from pathlib import Path

import jupytext
import numpy as np
import pytest
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("0*.py"))
CHAPTERS = [p.stem for p in NOTEBOOKS if not p.stem.startswith("00")]
MODULES = sorted(ROOT.glob("lib/loopvalley/*/exercises_ch*.py"))
HEADER = re.compile(r"^> \*\*Difficulty\*\* (★{1,3})(☆*) · \*\*Importance\*\* (🔵{1,3})(⚪*) · "
                    r"\*\*Time\*\* ≈ (\d+) min · \*\*Kind\*\* (mechanism|computation|derivation)$", re.M)
ITEM = re.compile(r"^### (Exercise|Derivation) (\d)\.(\d) — (.+)$", re.M)
STUB = re.compile(r"^def (\w+)\((.*)\):\n((?:    #.*\n)+)    raise NotImplementedError", re.M)
FORMULA = ("Σ", "√", "‖", "softmax(", "exp(", "log(", " / λ", "λ_max /")


def _text(stem: str) -> str:
    return next(p for p in NOTEBOOKS if p.name.startswith(stem)).read_text()


def _cells(stem: str) -> list:
    path = next(p for p in NOTEBOOKS if p.name.startswith(stem))
    return [(c.cell_type, c.source) for c in jupytext.read(path).cells]


def _checkers() -> dict:
    """{chapter "NN": {checker name: function}} from lib/loopvalley/<wing>/exercises_chNN.py."""
    out = {}
    for path in MODULES:
        mod = importlib.import_module(f"loopvalley.{path.parent.name}.{path.stem}")
        out[path.stem[-2:]] = {n: getattr(mod, n) for n in dir(mod) if n.startswith("check_")}
    return out


CHECKERS = _checkers()


def _items(stem: str) -> list:
    """[(cell index, kind word, "N.k", title, header match)] for every exercise / derivation."""
    out = []
    for i, (kind, src) in enumerate(_cells(stem)):
        if kind != "markdown":
            continue
        for m in ITEM.finditer(src):
            rest = src[m.end():]
            nxt = ITEM.search(rest)
            block = rest[: nxt.start()] if nxt else rest
            out.append((i, m.group(1), f"{m.group(2)}.{m.group(3)}", m.group(4), HEADER.search(block), block))
    return out


# -- scaffolding ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("stem", CHAPTERS)
def test_every_chapter_opens_with_objectives_and_a_study_time(stem):
    cells = _cells(stem)
    first_code = next(i for i, (k, _) in enumerate(cells) if k == "code")
    where = [i for i, (k, s) in enumerate(cells) if k == "markdown" and "## Learning objectives" in s]
    assert where and where[0] < first_code, "a 'Learning objectives' cell between the title and the setup cell"
    src = cells[where[0]][1]
    bullets = re.findall(r"^- ", src.split("**Study time:**")[0], re.M)
    assert 3 <= len(bullets) <= 5, f"3–5 objectives, found {len(bullets)}"
    m = re.search(r"\*\*Study time:\*\* about ([\d½–-]+) hours?.*?(\d+) exercises?(?: and (\d+) derivations?)?", src, re.S)
    assert m, "a study time line: '**Study time:** about 1–2 hours, of which … for N exercises and M derivations'"
    assert "run the notebook" in src, "say that the study time is not the machine's run time"
    items = _items(stem)
    assert int(m.group(2)) == sum(k == "Exercise" for _, k, *_ in items)
    assert int(m.group(3) or 0) == sum(k == "Derivation" for _, k, *_ in items)


@pytest.mark.parametrize("stem", CHAPTERS)
def test_every_chapter_ends_its_teaching_with_tagged_references(stem):
    s = _text(stem)
    assert s.count("## References") == 1
    refs = s[s.index("## References"):]
    refs = refs[: refs.index("# %%")] if "# %%" in refs else refs
    assert s.index("## References") > s.index("## Check your understanding"), "references come at the end"
    assert "2510.10089" in refs and "2410.05192" in refs, "the paper and Wen et al."
    assert re.search(r"\[(ABS|REV|SUM)", refs), "the paper's statements tagged by their source"
    flat = re.sub(r"\n#\s*", " ", refs)  # one line: phrases may wrap
    assert "could not be read" in flat and "paper-notes.md" in flat, "say where what we know of the paper comes from"
    bullets = re.findall(r"^# - \*\*", refs, re.M)
    assert len(bullets) >= 3, "the paper, Wen et al. and the chapter's own sources"
    for b in re.split(r"^# - ", refs, flags=re.M)[1:]:
        assert ":" in b, "every reference says what it supports"


# -- exercises and derivations -------------------------------------------------------------------------
def test_at_least_15_exercises_and_one_in_every_chapter():
    items = {stem: _items(stem) for stem in CHAPTERS}
    assert all(items.values()), [s for s, v in items.items() if not v]
    assert sum(map(len, items.values())) >= 15
    kinds = {m.group(6) for v in items.values() for *_, m, _ in v}
    assert kinds == {"mechanism", "computation", "derivation"}
    for stem in ("01", "02", "05", "07"):  # the theory chapters: 2–3 derivations each
        n = sum(k == "Derivation" for _, k, *_ in items[next(s for s in CHAPTERS if s.startswith(stem))])
        assert 2 <= n <= 3, f"chapter {stem}: {n} derivations"


@pytest.mark.parametrize("stem", CHAPTERS)
def test_every_item_has_a_header_a_hint_and_a_hidden_answer(stem):
    cells = _cells(stem)
    for i, word, num, title, header, block in _items(stem):
        assert num.startswith(str(int(stem[:2]))), f"{word} {num} is numbered for chapter {stem[:2]}"
        assert header, f"{word} {num}: the header line (difficulty, importance, time, kind)"
        assert len(header.group(1) + header.group(2)) == 3 and len(header.group(3) + header.group(4)) == 3
        assert (header.group(6) == "derivation") == (word == "Derivation")
        assert "<details><summary>Hint</summary>" in block, f"{word} {num}: a collapsed hint"
        # the code cell that follows the item's markdown, and the markdown after that
        nxt = next((j for j in range(i + 1, len(cells)) if cells[j][0] == "code"), None)
        assert nxt is not None, f"{word} {num}: a code cell follows"
        stub = STUB.search(cells[nxt][1])
        answer = "Solution" if word == "Exercise" else "Worked answer"
        if word == "Exercise" or stub:
            assert stub, f"{word} {num}: a stub that raises NotImplementedError"
            after = next(s for k, s in cells[nxt + 1:] if k == "markdown")
            assert after.lstrip().startswith(f"<details><summary>{answer}</summary>"), \
                f"{word} {num}: the {answer} sits collapsed right under the stub"
            assert "```python" in after.split("</details>")[0], f"{word} {num}: the {answer} gives the code"
        else:
            assert f"<details><summary>{answer}</summary>" in block, f"{word} {num}: a collapsed worked answer"


@pytest.mark.parametrize("stem", CHAPTERS)
def test_stubs_state_the_task_not_the_formula(stem):
    cells = _cells(stem)
    stubs = [(src, m) for k, src in cells if k == "code" for m in [STUB.search(src)] if m]
    for src, m in stubs:
        name, comments = m.group(1), m.group(3)
        assert re.search(r"->|→", comments), f"{name}: the shapes (input -> output)"
        assert "# example:" in comments, f"{name}: a small test case, input -> expected output"
        assert re.search(r"^    # YOUR CODE HERE$", comments, re.M), f"{name}: nothing after 'YOUR CODE HERE'"
        assert not [f for f in FORMULA if f in comments], f"{name}: the stub gives the formula away"
        rest = src[m.end():].strip()
        assert rest == f"{name} = check_{name}({name})", \
            f"{name}: the exercise cell holds the stub and its checker only (the release check expects the notice alone)"


# -- the checkers ----------------------------------------------------------------------------------------
def test_every_exercise_module_has_a_notebook():
    assert {k for k in CHECKERS} == {s[:2] for s in CHAPTERS}, "an exercises_chNN module for every chapter 01–09"


@pytest.mark.parametrize("chapter, checker", [(c, n) for c, v in sorted(CHECKERS.items()) for n in sorted(v)])
def test_every_checker_is_used_in_its_chapter_and_tested(chapter, checker):
    assert re.search(rf"^(\w+) = {checker}\(\1\)", _text(chapter), re.M), f"{checker} is not called in notebook {chapter}"
    tests = (ROOT / "tests" / f"test_exercises_ch{chapter}.py").read_text()
    assert checker in tests
    name = checker.removeprefix("check_")
    assert re.search(rf"def test_\w*rejects\w*|def test_\w*names\w*", tests), "tests of wrong implementations"
    assert name in tests or checker in tests


def _solutions(stem):
    """(stub name, solution code) for every stub, from the collapsed block under it."""
    cells = _cells(stem)
    out = []
    for i, (kind, src) in enumerate(cells):
        m = STUB.search(src) if kind == "code" else None
        if not m:
            continue
        after = next(s for k, s in cells[i + 1:] if k == "markdown")
        code = re.search(r"```python\n(.*?)```", after, re.S)
        out.append((m.group(1), code.group(1)))
    return out


@pytest.mark.parametrize("stem", CHAPTERS)
def test_the_notebooks_solutions_pass_their_checkers(stem):
    from loopvalley.looped.exercises_ch04 import causal_attention_reference
    from loopvalley.shift.tasks import PAD, SEP

    checkers = CHECKERS[stem[:2]]
    for name, code in _solutions(stem):
        ns = {"torch": torch, "np": np, "math": math, "F": F, "PAD": PAD, "SEP": SEP,
              "causal_attention": causal_attention_reference}
        exec(code, ns)
        assert checkers[f"check_{name}"](ns[name]) is ns[name], f"{name}: the notebook's solution fails its checker"


# -- 00: the course material -----------------------------------------------------------------------------
def test_00_lists_every_item_and_the_course_structure():
    s = _text("00")
    listed = re.findall(r"^# \| (\d\d) \| (Exercise|Derivation) (\d\.\d) \| (.+?) \| (\w+) \| ([★☆]+) \| ([🔵⚪]+) \| (\d+) \|$", s, re.M)
    found = []
    for stem in CHAPTERS:
        for _, word, num, title, h, _ in _items(stem):
            found.append((stem[:2], word, num, title, h.group(6), h.group(1) + h.group(2), h.group(3) + h.group(4), h.group(5)))
    assert listed == found, "00's table of items is out of date: regenerate it from the notebooks' headers"
    rows = dict(re.findall(r"^# \| \[(\d\d)\]\(\d\d_\w+\.ipynb\) \| .+? \| [\d½–]+ h \| (\d+ \| \d+) \|$", s, re.M))
    for stem in CHAPTERS:
        items = _items(stem)
        n = f"{sum(k == 'Exercise' for _, k, *_ in items)} | {sum(k == 'Derivation' for _, k, *_ in items)}"
        assert rows.get(stem[:2]) == n, f"the course-structure row of {stem[:2]}: exercises | derivations"


def test_00_has_a_capstone_with_what_to_hand_in_and_how_it_is_assessed():
    s = _text("00")
    cap = s[s.index("## Capstone project"):s.index("## Glossary")]
    assert "What to hand in" in cap and "How it is assessed" in cap
    points = [int(p) for p in re.findall(r"^# \| [a-z ]+ \| (\d+) \|", cap, re.M)]
    assert sum(points) == 100, "the rubric's points add up to 100"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_ends_with_takeaways_and_questions(path):
    s = path.read_text()
    assert "## Key takeaways" in s and "## Check your understanding" in s
    tail = s[s.index("## Check your understanding"):]
    assert "<details>" in tail, "the questions' answers are hidden in a collapsible block"
    assert "Try this" not in s, "turn 'Try this' into a prediction with the answer after the cell"
    if not path.stem.startswith("00"):  # the syllabus teaches no mechanism of its own
        assert re.search(r"\*\*Predict", s), "at least one predict-then-run prompt"
