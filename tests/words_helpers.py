"""Every generated sentence of the committee pages, and the checks a reader would make of them.

``page_sentences`` walks the blocks of every page (``blocks.page_blocks``, the summary and about
pages of ``summary.py``)
built from a ``metrics_public.csv``: titles, subtitles, captions, key messages, alt text, notes,
headings, the change and status words of the headline tables. ``problems`` runs each sentence
through checks that need no knowledge of the figures: doubled words ("referral referrals"),
"1 warnings" and "3 team" plurals for the counted nouns of the pages, empty alt text, "None",
"nan" or an unfilled "{placeholder}", a sentence starting in lower case, a heading that
repeats its breakdown ("Decision on the referral by decision"), "0 of 6 teams", and a RAG status
without the figure and the target ("Amber: just missed").

``python tests/words_helpers.py OUT_DIR [council period_start period_end as_at]`` prints every
sentence of a run (to read the pages as a committee member would) and the problems found.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pipelines.config import load_config  # noqa: E402
from pipelines.report import blocks, summary  # noqa: E402
from pipelines.report.model import Metrics  # noqa: E402
from pipelines.report.params import ReportParameters  # noqa: E402
from pipelines.report.spec import pages, spec  # noqa: E402

#: Fields of a block that hold words written for the reader (not figures, not keys).
TEXT_FIELDS = ("title", "subtitle", "alt_text", "note", "caption", "text", "heading", "intro",
               "lede", "after")  # fmt: skip
#: Counted nouns of the pages: singular -> plural.
NOUNS = {
    "referral": "referrals",
    "re-referral": "re-referrals",
    "family": "families",
    "child": "children",
    "team": "teams",
    "role": "roles",
    "post": "posts",
    "case": "cases",
    "warning": "warnings",
    "error": "errors",
    "registration": "registrations",
    "re-registration": "re-registrations",
    "domain": "domains",
    "quarter": "quarters",
    "month": "months",
    "year": "years",
    "service": "services",
    "social worker": "social workers",
    "worker": "workers",
    "vacancy": "vacancies",
    "leaver": "leavers",
    "assessment": "assessments",
    "row": "rows",
    "day": "days",
    "point": "points",
}
_NUMBER = r"(?<![\w.,-])(\d[\d,]*)"


@dataclasses.dataclass(frozen=True)
class Sentence:
    where: str  # page and block field, e.g. "referrals: Chart.title"
    text: str


def params_for(
    out_dir: Path, council: str = "", start: str = "", end: str = "", as_at: str = ""
) -> ReportParameters:
    """The parameters of a run as ``render_reports`` builds them, from the config's defaults."""
    p = ReportParameters.from_config(load_config(), out_dir=Path(out_dir))
    changes = {"council": council, "period_start": start, "period_end": end, "data_as_at": as_at}
    return dataclasses.replace(p, **{k: v for k, v in changes.items() if v})


def _walk(x: Any, where: str) -> Iterator[Sentence]:
    if isinstance(x, list | tuple):
        for item in x:
            yield from _walk(item, where)
        return
    if not dataclasses.is_dataclass(x):
        return
    name = type(x).__name__
    if name == "Cell":  # figures are not sentences; the change and status words are
        if x.rag or x.arrow:
            yield Sentence(f"{where}: Cell", x.text)
        return
    if name == "Table":
        yield Sentence(f"{where}: Table.caption", x.caption)
        yield from _walk(x.rows, where)
        return
    for f in dataclasses.fields(x):
        value = getattr(x, f.name)
        if f.name in TEXT_FIELDS and isinstance(value, str):
            if value or f.name == "alt_text":
                yield Sentence(f"{where}: {name}.{f.name}", value)
        elif isinstance(value, list | tuple) or dataclasses.is_dataclass(value):
            yield from _walk(value, where)


def page_sentences(metrics: Metrics, params: ReportParameters) -> list[Sentence]:
    """Every sentence of every page (and the index) built from ``metrics``."""
    analyses = [a for a in pages() if a != "workforce" or metrics.has("workforce")]
    out: list[Sentence] = []
    for a in analyses:
        page = blocks.Page.open(a, params, metrics)
        out += _walk(blocks.page_blocks(page), a)
    index = blocks.Page.open("index", params, metrics)
    out += _walk(summary.summary_blocks(index, analyses), "index")
    out += _walk(summary.about_blocks(index, analyses), "about")
    return out


def _plural_errors(text: str) -> list[str]:
    found = []
    for one, many in NOUNS.items():
        for m in re.finditer(_NUMBER + r" " + re.escape(many) + r"\b", text):
            if m.group(1) == "1":
                found.append(f"'1 {many}'")
        for m in re.finditer(_NUMBER + r" " + re.escape(one) + r"\b(?![-\w])", text):
            if m.group(1) != "1":
                found.append(f"'{m.group(1)} {one}'")
    return found


@functools.cache
def comma_labels() -> tuple[str, ...]:
    """Every category label (pages.yaml's own and the contract's code lists) that holds a comma
    between words: in a sentence it must stand in quotes (``prose.term``)."""
    from pipelines.report.spec import code_lists

    found: set[str] = set()

    def walk(x: Any) -> None:
        for v in x.values() if isinstance(x, dict) else x if isinstance(x, list) else ():
            if isinstance(v, str):
                if ", " in v and len(v) < 80:
                    found.add(v)
            else:
                walk(v)

    walk(spec()["categories"])
    walk(code_lists())
    return tuple(sorted(found, key=len, reverse=True))


#: Words of the analyst's files a member must not have to decode.
INTERNAL = re.compile(r"\breference data\b|\bmetrics\w*\.csv\b|\b[a-z]+_[a-z_]+\b")


def problems(sentence: Sentence, labels: Sequence[str] | None = None) -> list[str]:
    """What a careful reader would object to in one sentence (empty when none). ``labels``:
    category labels holding a comma (``comma_labels``), which a sentence must quote."""
    text, out = sentence.text, []
    if not text.strip():
        return ["empty text" + (" (alt text)" if "alt_text" in sentence.where else "")]
    prose_text = not sentence.where.endswith(": Cell")
    for label in (comma_labels() if labels is None else labels) if prose_text else ():
        for m in re.finditer(re.escape(label), text, re.IGNORECASE):
            if text[m.start() - 1 : m.start()] != "'" or text[m.end() : m.end() + 1] != "'":
                out.append(f"a label with a comma not quoted: {label!r}")
                break
    if re.search(r": [^.;:()]*: \d", text):  # "Families whose risk reduced: all IFSS: 91%"
        out.append("two colons before a figure: a label used as the subject")
    if "on the same period last year" in text:  # reads as a change during last year
        out.append("'on the same period last year': say 'in the same period last year'")
    if INTERNAL.search(text) and "data_quality" not in sentence.where:  # the analyst's page
        out.append(f"internal words: {INTERNAL.search(text).group(0)!r}")  # type: ignore[union-attr]
    # words next to each other with only a space between ("the the", "referral referrals")
    tokens = text.split()
    for a, b in zip(tokens, tokens[1:], strict=False):
        if not re.fullmatch(r"[\w'-]+", a):  # punctuation after the first word: a new clause
            continue
        b = b.rstrip(".,;:)")
        if a.lower() == b.lower() or NOUNS.get(a.lower()) == b.lower():
            out.append(f"doubled word '{a} {b}'")
    out += [f"plural: {e}" for e in _plural_errors(text)]
    if re.search(r"\bNone\b(?! of)|\bnan\b|\bNaN\b|[{}]", text):
        out.append("'None', 'nan' or an unfilled {placeholder}")
    heading = not text.rstrip().endswith(".")  # a heading; a glossary entry is a sentence
    if heading and re.search(
        r"^(\w+)\b.*\bby \1\b", text, re.IGNORECASE
    ):  # "Decision ... by decision"
        out.append("repeats its breakdown ('... by ...')")
    if re.search(r"(?<![\d.,])0 of \d", text):
        out.append("'0 of n': say 'none of the n'")
    status = sentence.where.endswith(": Cell") or sentence.where.endswith(".title")
    if status and re.match(r"(Red|Amber|Green): (?!\d)", text):  # "Amber: just missed"
        out.append("a status without the figure and the target")
    first = text.lstrip()[:1]
    # a Cell is a table fragment; ``after`` continues a sentence that starts with a link
    fragment = sentence.where.endswith(": Cell") or sentence.where.endswith(".after")
    if first.isalpha() and first.islower() and not fragment:
        out.append("starts in lower case")
    return out


def main(argv: list[str]) -> int:
    out_dir = Path(argv[0])
    params = params_for(out_dir, *argv[1:5])
    metrics = Metrics.read(out_dir / "metrics_public.csv")
    bad = 0
    for s in page_sentences(metrics, params):
        issues = problems(s)
        bad += bool(issues)
        print(f"[{s.where}] {s.text}" + (f"   <<< {'; '.join(issues)}" if issues else ""))
    print(f"\n{bad} sentence(s) with problems")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
