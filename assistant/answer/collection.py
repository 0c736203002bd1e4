"""Questions about the collection, answered from the paper records rather than from quotes.

    "What did Ke Hu work on?", "Which papers did T. Likhomanenko write?", "papers from 2021",
    "how many papers list Tara Sainath as an author?"

A question that names an author (resolved against the index's author names, see
corpus/names.py) or a year, and asks for nothing beyond who or when, is answered by listing
the papers: a count, then each paper's title, year and a one-line gist from its abstract, each
cited. `--author` is read the same way. A question asking for the papers of an author or year
on a topic ("which papers by Jiahui Yu are about streaming ASR?") lists those that clear the
relevance bar of a related-work section; "who works on X here?" lists the papers on X with
their authors, led by the authors on more than one. Any other question with an author or year
("what did Ke Hu find about streaming?") is answered by the usual pipeline among their papers.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..corpus.names import name_words, names_in, surname_alone, words_of
from ..corpus.paper import Paper
from ..retrieve import Evidence, Filters, Retriever
from ..text import MARKER, STOPWORDS, content_terms, fold, joined, latex_to_text, split_sentences
from .attribution import claims, is_background, is_fragment, leans_back, without_leaning_purpose

# The one way a cited paper becomes a Reference (private to citations.py until the lead makes it public).
from .citations import _reference as reference
from .model import Answer, AnswerSentence, Citation, Issue
from .relevance import focus_words, said_whole
from .themes import as_written

if TYPE_CHECKING:
    from .answerer import Finisher

# Words that ask for a listing rather than name a topic: "what has X published", "anything by X".
_LISTING_WORDS = STOPWORDS | frozenset("""
published publish publications publication coauthor coauthored co authored worked working anything
everything wrote collection indexed many count number list listed listing year years since before
between recent recently lately latest name names
""".split())
# A year the question asks about, not one it mentions ("WMT 2014"): "from 2021", "since 2020",
# "between 2020 and 2022", "2021-2022".
_YEAR_PHRASE = re.compile(r"\b(?:(?P<since>since|after)|(?P<before>before)|from|in|between|during)\s+"
                          r"(?P<start>(?:19|20)\d\d)(?:\s*(?:-|–|to|and)\s*(?P<end>(?:19|20)\d\d))?\b",
                          re.IGNORECASE)
_GIST_CHARS = 320  # a longer sentence is not a one-line gist; the next candidate is taken


# How a question about the library may end: "..., here?", "... in my corpus".
_HERE = (r"(?:,?\s+(?:here|in\s+(?:the|my|this|our)\s+(?:collection|library|corpus|index|database|papers?)))?"
         r"\s*[?.!]*\s*$")
# "who works on streaming ASR here?", "which authors have written about pseudo-labeling?", "who
# are the main researchers on MoE?": the topic, whose papers are listed with their authors.
_WHO_WORKS_ON = (
    re.compile(r"^\s*(?:who(?:['’]s)?|(?:which|what)\s+(?:authors|researchers|people|groups))\s+(?:else\s+)?"
               r"(?:(?:has|have|had|is|are|was|were)\s+)?(?:been\s+)?(?:also\s+)?"
               r"(?:works?|working|worked|writes?|writing|wrote|written|publish(?:es|ed|ing)?"
               r"|stud(?:y|ies|ied|ying)|research(?:es|ed|ing)?|focus(?:es|ed|ing)?)\s+(?:on|about|in)\s+"
               r"(?P<topic>.+?)" + _HERE, re.IGNORECASE),
    re.compile(r"^\s*who\s+are\s+the\s+(?:main\s+|key\s+|leading\s+)?(?:authors|researchers|people|experts)\s+"
               r"(?:(?:working|writing|publishing)\s+)?(?:on|about|in)\s+(?P<topic>.+?)" + _HERE, re.IGNORECASE),
)
# "which papers by Jiahui Yu are about streaming ASR?", "which of Ronan Collobert's papers are
# about pseudo-labeling?", "which papers did Sheikh Shams Azam write on federated learning?",
# "papers from 2021 on federated learning", "papers by Tara Sainath not on streaming": the papers of
# an author or years on a topic, or not on it. Only this shape: "which paper by Jiahui Yu reports
# the lowest latency?" or "what did Ke Hu's paper on streaming find?" ask of a paper's content.
_PAPERS_ON = re.compile(
    r"^\s*(?:(?:which|what)\s+(?:of\s+.+?\s+)?papers"
    r"|(?:(?:list|show|find|give)(?:\s+me)?\s+|are\s+there\s+)?(?:all\s+|any\s+)?(?:the\s+)?papers)\b"
    r"(?P<between>.*?)\s+(?:about|on|regarding|concerning|cover(?:s|ing)?|discuss(?:es|ing)?|address(?:es|ing)?"
    r"|related\s+to|deal(?:s|ing)?\s+with)\s+(?P<topic>[^?]+?)" + _HERE, re.IGNORECASE)
# "what did Tatiana Likhomanenko publish on mixture of experts?", "what has Ke Hu written about
# streaming?": an author's papers on a topic, as "which papers by X are about Y" asks.
_WORK_ON = re.compile(
    r"^\s*what\s+(?:did|does|do|has|have|had)\s+(?!been\b)(?P<between>.{1,80}?)\s+(?:publish(?:ed)?|write|written|wrote"
    r"|work(?:ed)?|do|done)\s+(?:on|about|regarding|concerning)\s+(?P<topic>[^?]+?)" + _HERE, re.IGNORECASE)
# "what's been done on pseudo-labeling?", "any work on lip reading?", "is there any research on X
# here?", "what's out there on X?", "anything on X?": the whole library's papers on a topic, as
# "papers on X" asks. The usual answer quotes the few best sentences and so the few best papers; a
# researcher asking so wants them all.
_DONE_ON = re.compile(
    r"^\s*(?:what(?:['’]s|\s+has)\s+been\s+(?:done|published|written)|what\s+(?:work|research)\s+(?:is\s+there|exists)"
    r"|what(?:['’]s|\s+is)\s+out\s+there|(?:is\s+there\s+)?anything"
    r"|(?:is\s+there\s+|has\s+there\s+been\s+)?any\s+(?:work|research))\s+(?:on|about|regarding|into)\s+"
    r"(?P<topic>[^?]+?)" + _HERE, re.IGNORECASE)
# A topic that is something done or asked of a topic, not a topic ("what's been done on reducing
# latency in streaming ASR?", "... on the effect of label noise on pseudo-labeling?"): the question is
# answered from the papers' sentences. A hyphenated "-ing" ("pseudo-labeling") is a topic, and so
# is an "-ing" phrase the papers say whole ("streaming ASR").
_DOING = re.compile(r"^[^\W\d_]+ing\b", re.IGNORECASE)
_NO_NOUN_TOPIC = re.compile(r"^(?:the\s+(?:effect|impact|role|use)\s+of|how|whether|why)\b"
                            r"|\s(?:on|of)\s.+\s(?:on|of)\s", re.IGNORECASE)
# What may stand between "papers" and "on Y" besides the author's name and the years: "which papers
# by Jiahui Yu are about", "which papers did X write on", "papers from 2021 on". Any other word asks
# of the papers' content ("which papers by X report the lowest latency on voice search?").
_BETWEEN = frozenset("""by from of did does do has have had write wrote written writing publish published
authored coauthored co author are is were was that not never list listed all the any ever in during since
after before between and to until s t aren isn weren wasn didn doesn don haven hasn""".split())
_NOT = re.compile(r"\b(?:not|never)\b|n['’]t\b", re.IGNORECASE)
# A topic with a negation of its own ("speech but not recognition", "neither speech nor vision",
# "non-speech topics", "nothing to do with speech") is not listed: it is answered as any question.
_NEGATION_INSIDE = re.compile(r"\b(?:not|neither|nor|non|nothing|without|except|excluding)\b", re.IGNORECASE)
# "something other than speech": the papers not on speech.
_OTHER_THAN = re.compile(r"^(?:something|anything|topics?)?\s*(?:other\s+than|else\s+than|but|except)\s+", re.IGNORECASE)
# A topic that holds a second question ("on speech and what did they find") or asks something of
# the papers ("which papers on LibriSpeech get below 2% WER?", "... on streaming ASR use a
# cascaded encoder?") is no topic to list: it is answered as any question.
_ASKS_MORE = re.compile(r"\b(?:what|which|how|why|when|where|who|did|does|do|is|are|was|were|has|have|had|can|could"
                        r"|should|would|will|get|gets|got|use|uses|report|reports|show|shows|achieve|achieves|reach"
                        r"|reaches|beat|beats|outperform|outperforms|improve|improves|need|needs|work|works|help|helps"
                        r"|make|makes)\b", re.IGNORECASE)
_NAMED_AUTHORS = 3  # a listed paper's authors shown before "et al."
_LEAD_AUTHORS = 5  # authors on more than one listed paper named in the lead (the rest counted)


def who_works_on(question: str) -> str | None:
    """The topic a question asks the authors of ("who works on X here?" -> "X"), else None."""
    for pattern in _WHO_WORKS_ON:
        if match := pattern.match(question):
            return _topic(match["topic"])
    return None


def papers_on(question: str, names: Sequence[str] = (), papers: Iterable[Paper] = ()) -> tuple[str, bool] | None:
    """The topic of a question asking for the papers on it, and whether it asks for those not on
    it ("which papers by X are about Y?" -> ("Y", False); "... are not about Y?" -> ("Y", True)),
    else None. `names`: the authors the question names, whose words may stand before the topic;
    `papers`: the library's, whose phrases tell a topic from something done ("streaming ASR")."""
    match = _PAPERS_ON.match(question) or _WORK_ON.match(question) or _DONE_ON.match(question)
    if not match or not (topic := _topic(match["topic"])) or not set(words_of(topic)) - _LISTING_WORDS:
        return None  # "what has Ke Hu worked on recently?" names no topic
    doing = _DOING.match(topic) and not said_whole(topic, papers)
    if match.re is _DONE_ON and (_NO_NOUN_TOPIC.search(topic) or doing):
        return None
    allowed = _BETWEEN | {word for name in names for word in words_of(name)}
    if set(words_of(_YEAR_PHRASE.sub(" ", match.groupdict().get("between") or ""))) - allowed:
        return None
    other = _OTHER_THAN.match(topic)
    topic = topic[other.end():] if other else topic
    if _NEGATION_INSIDE.search(topic):
        return None
    return topic, bool(_NOT.search(question[:match.start("topic")])) != bool(other)


def _topic(phrase: str) -> str | None:
    """A topic as the question words it, without the years it is narrowed to ("speech recognition
    before 2020"); None when it asks a second thing."""
    topic = _YEAR_PHRASE.sub("", phrase).strip(" ,")
    return topic if topic and not _ASKS_MORE.search(topic) else None


@dataclass(frozen=True)
class CollectionQuestion:
    filters: Filters  # the caller's filters narrowed by the authors and years the question names
    author: str | None  # the author named, as the collection most often writes the name
    lists_papers: bool  # nothing asked beyond who or when: answer by listing the papers
    topic: str | None = None  # a topic whose papers (within the filters) are listed instead of quoted
    with_authors: bool = False  # "who works on X": the listing names each paper's authors
    excludes: bool = False  # "which papers by X are not about Y": the papers within the filters not on the topic
    # "papers by Bai" when several people are named Bai: each of them, as the library most often
    # writes the name, with the number of their papers.
    namesakes: tuple[tuple[str, int], ...] = ()

    @property
    def narrowed(self) -> bool:
        """Whether an author or years narrow the papers (by the question or the options)."""
        return _narrowed(self.filters)

    @classmethod
    def read(cls, question: str, authors: list[str], filters: Filters | None,
             papers: Iterable[Paper] = ()) -> CollectionQuestion:
        """`authors`: the collection's author names, once per paper listing them, in corpus order;
        those whose surname the question holds are enough (Retriever.authors_in). `papers`: the
        library's (see papers_on)."""
        filters = filters or Filters()
        named = names_in(question, authors)
        author = _most_written(named, authors) if named else filters.author
        words = set(re.findall(r"[^\W\d_]+", fold(question)))
        for name in named:
            given, surname = name_words(name)
            words -= {*given, surname}
        years = _YEAR_PHRASE.search(question)
        if named:
            filters = replace(filters, author=author)
        if years:
            start, end = int(years["start"]), int(years["end"] or years["start"])
            if years["since"]:
                start, end = start + (fold(years["since"]) == "after"), None
            elif years["before"]:
                start, end = None, start - 1
            filters = replace(filters, year_from=start, year_to=end)
        topic = {w for w in words if len(w) > 1} - _LISTING_WORDS
        lists = bool(filters.author or years) and not topic
        who = None if named else who_works_on(question)
        one_author = len({name_words(name)[1] for name in named}) <= 1  # "by X and Y" is no one author's listing
        listed, excludes = (papers_on(question, named, papers) if one_author and not lists else None) or (None, False)
        if excludes and not _narrowed(filters):  # "which papers are not about speech?" asks of no set of papers
            listed, excludes = None, False
        return cls(filters=filters, author=author, lists_papers=lists, topic=who or listed, with_authors=bool(who),
                   excludes=excludes, namesakes=() if named else _namesakes(question, authors))


def _namesakes(question: str, authors: list[str]) -> tuple[tuple[str, int], ...]:
    """The people a surname written alone as an author's may mean, when more than one has it
    (by first initial), each with the number of papers listing them, most first."""
    alone = surname_alone(question, authors)
    if not alone or all(len(initials) == 1 for initials in alone.values()):
        return ()
    counts = Counter(name for name in authors if name in alone)
    people: dict[str, str] = {}  # first given name -> the form most papers write
    for name, _ in counts.most_common():
        people.setdefault(name_words(name)[0][0], name)
    return tuple(sorted(((name, counts[name]) for name in people.values()), key=lambda pair: -pair[1]))


def clarify_namesakes(question: CollectionQuestion) -> str:
    """"Several authors in the collection are named Bai: Richard He Bai (5 papers) and Haoping
    Bai (1 paper); ask again with one of the names, e.g. "papers by Richard He Bai"."""
    people = [f"{name} ({n} paper{'s' if n != 1 else ''})" for name, n in question.namesakes]
    surname = name_words(question.namesakes[0][0])[1].capitalize()
    first = question.namesakes[0][0]
    return (f"Several authors in the collection are named {surname}: {joined(people)}; ask again with one of "
            f"the names, e.g. \u201cpapers by {first}\u201d.")


def _narrowed(filters: Filters) -> bool:
    return bool(filters.author or filters.year_from or filters.year_to)


def _most_written(names: list[str], authors: list[str]) -> str:
    """Of the forms of one name the question matched, the one the most papers write."""
    counts = Counter(name for name in authors if name in names)
    return counts.most_common(1)[0][0]


def answer_from_records(question: CollectionQuestion, retriever: Retriever, text: str, finish: "Finisher",
                        issues: list[Issue], on_topic: Callable[[Evidence], bool] | None = None) -> Answer:
    """The papers the question's filters admit, counted and listed, each with its gist, cited;
    for a question with a topic, those of them `on_topic` (or, when it excludes the topic, not)."""
    admitted = [p for p in retriever.papers() if question.filters.matches(p)]
    if not admitted:
        return finish.refused(issues, f"No paper in the collection matches {_describe(question)}.")
    # Retrieval with the same filters makes the listed papers the answer's evidence (every
    # admitted paper comes back: k is their number), ordered by how well they fit the question.
    found = retriever.search(text, k=len(admitted), filters=question.filters, per_paper=1)
    by_key = {e.paper.key: e for e in found}
    ordered = sorted((by_key[p.key] for p in admitted if p.key in by_key),
                     key=lambda e: (-(e.paper.year or 0), e.rank))
    count = len(ordered)
    if question.topic is None or on_topic is None:
        return _listing(f"{count} paper{'s' if count != 1 else ''} in the collection {_lead_verb(question, count)}:",
                        ordered, finish, issues)
    listed = [e for e in ordered if on_topic(e) != question.excludes]
    if not listed:
        return finish.refused(issues, _topic_lead(question, count, 0, none=True) + ".")
    return _listing(_topic_lead(question, count, len(listed)) + ":", listed, finish, issues)


def _topic_lead(question: CollectionQuestion, count: int, listed: int, none: bool = False) -> str:
    """"2 of the 5 papers in the collection that list Jiahui Yu as an author are on streaming",
    "All 3 ...", "The one paper ... is not on speech"; with `none`, what is said when none is."""
    where = f"on {question.topic}"
    shown, hidden = (f"not {where}", where) if question.excludes else (where, f"not {where}")
    if count == 1:
        return f"The one paper in the collection that {_lead_verb(question, 1)} is {hidden if none else shown}"
    that = f"papers in the collection that {_lead_verb(question, count)}"
    every = "Both" if count == 2 else f"All {count}"
    if none:
        return f"{every} {that} are {hidden}" if question.excludes else f"None of the {count} {that} is {where}"
    if listed == count:
        return f"{every} {that} are {shown}"
    return f"{listed} of the {count} {that} {'is' if listed == 1 else 'are'} {shown}"


def list_papers_on(question: CollectionQuestion, papers: Sequence[Evidence], finish: "Finisher",
                   issues: list[Issue]) -> Answer:
    """"Papers on X": the papers on X (most on topic first), each with its gist; for "who works
    on X", also with its authors, led by the authors on more than one of them."""
    count = len(papers)
    narrowed = _lead_verb(question, count)  # "are from before 2020"
    lead = (f"{count} paper{'s' if count != 1 else ''} in the collection {narrowed + ' and ' if narrowed else ''}"
            f"{'is' if count == 1 else 'are'} on {question.topic}")
    repeated = _repeated_authors(papers) if question.with_authors else []
    if repeated:
        counted = [f"{name} ({n} papers)" for name, n in repeated[:_LEAD_AUTHORS]]
        if len(repeated) > _LEAD_AUTHORS:
            counted.append(f"{len(repeated) - _LEAD_AUTHORS} more")
        lead += f"; {joined(counted)} {'is an author' if len(counted) == 1 else 'are authors'} of more than one"
    elif count > 1 and question.with_authors:
        lead += ", no two by the same author"
    return _listing(lead + ":", list(papers), finish, issues, with_authors=question.with_authors,
                    says=_said_on(question.topic or ""))


def list_papers_using(subject: str, long_forms: Sequence[str], how: bool, papers: Sequence[tuple[Evidence, str]],
                      finish: "Finisher", issues: list[Issue]) -> Answer:
    """"What is X?" where no paper says what X is: the papers that use X, each with its sentence
    that does ("No paper in the collection says what LoRA is; 3 use it: ..."), and the long form
    the abstracts give it ("... the papers write WER for word error rate")."""
    count = len(papers)
    said = f"how {subject} works" if how else f"what {subject} is"
    spelled = f" (the papers write it for {' or '.join(f'“{form}”' for form in long_forms)})" if long_forms else ""
    lead = f"No paper in the collection says {said}{spelled}; {count} use{'s' if count == 1 else ''} it:"
    return _saying(lead, papers, finish, issues)


def list_figure_unreported(figure: tuple[str, str], thing: str, papers: Sequence[tuple[Evidence, str]],
                           texts: Sequence[str], finish: "Finisher", issues: list[Issue]) -> Answer:
    """A figure question of a thing no paper gives that figure of: the papers naming the thing,
    each with its sentence that does ("No paper in the collection reports the WER of Whisper; 4
    mention it: ..."). `figure`: how the question asks it ("the", "WER"); it and the thing are
    written as the papers (`texts` too) write them."""
    texts = [sentence for _, sentence in papers] + list(texts)
    article, measure = figure
    count = len(papers)
    lead = (f"No paper in the collection reports {article} {as_written(measure, texts)} of "
            f"{as_written(thing, texts)}; {count} mention{'s' if count == 1 else ''} it:")
    return _saying(lead, papers, finish, issues)


def _saying(lead: str, papers: Sequence[tuple[Evidence, str]], finish: "Finisher", issues: list[Issue]) -> Answer:
    """The lead, then each paper with the sentence given for it."""
    mentions = {e.paper.key: sentence for e, sentence in papers}
    return _listing(lead, [e for e, _ in papers], finish, issues, says=lambda paper: mentions[paper.key])


def _listing(lead: str, ordered: list[Evidence], finish: "Finisher", issues: list[Issue],
             with_authors: bool = False, says: Callable[[Paper], str] | None = None) -> Answer:
    """The lead citing every listed paper, then a line a paper: title, year (and authors), and
    what `says` quotes of it (default: its gist)."""
    said = [(says or _gist)(e.paper) for e in ordered]  # once a paper: the lead cites what its line quotes
    references = [reference(n, e) for n, e in enumerate(ordered, start=1)]
    sentences = [AnswerSentence(text=lead, supported=True, paragraph=0, citations=tuple(
        Citation(r.n, r.key, gist or e.paper.label) for r, e, gist in zip(references, ordered, said)))]
    for n, (e, gist) in enumerate(zip(ordered, said), start=1):
        written = f"{e.paper.label} ({e.paper.year_label}" + (f"; {_authors(e.paper)})" if with_authors else ")")
        shown = re.sub(r"^we\b", "We", latex_to_text(gist))  # a claim without its purpose clause opens the line
        line = f"{written}: {shown}" if gist else written
        sentences.append(AnswerSentence(text=line, supported=True, paragraph=n,
                                        citations=(Citation(n, e.paper.key, gist or e.paper.label),)))
    return finish(sentences=sentences, references=references, refused=False, refusal=None, issues=issues)


def _repeated_authors(papers: Sequence[Evidence]) -> list[tuple[str, int]]:
    """The authors on more than one of the papers, most papers first, each as most papers write
    them. A person is a first given name and a surname ("Tara Sainath" is "Tara N. Sainath"; Yanghao
    Li is not Yixiao Li); a name with an initial ("T. Likhomanenko") is the one full name it fits."""
    written = [(name, e.paper.key) for e in papers for name in e.paper.authors]
    full: dict[tuple[str, str], set[str]] = {}
    for name, _ in written:
        given, surname = name_words(name)
        if given and len(given[0]) > 1:
            full.setdefault((given[0][0], surname), set()).add(given[0])

    def person(name: str) -> tuple[str, str]:
        given, surname = name_words(name)
        first = given[0] if given else ""
        fitting = full.get((first[:1], surname), set())
        return (next(iter(fitting)) if len(first) == 1 and len(fitting) == 1 else first), surname

    papers_of: dict[tuple[str, str], set[str]] = {}
    names: dict[tuple[str, str], Counter[str]] = {}
    for name, key in written:
        who = person(name)
        papers_of.setdefault(who, set()).add(key)
        names.setdefault(who, Counter())[name] += 1
    repeated = sorted((who for who, keys in papers_of.items() if len(keys) > 1),
                      key=lambda who: (-len(papers_of[who]), who[1]))
    return [(names[who].most_common(1)[0][0], len(papers_of[who])) for who in repeated]


def _authors(paper: Paper) -> str:
    names = list(paper.authors)
    if not names:
        return "authors unknown"
    more = len(names) > _NAMED_AUTHORS or paper.authors_truncated
    return ", ".join(names[:_NAMED_AUTHORS]) + (" et al." if more else "")


def _lead_verb(question: CollectionQuestion, count: int) -> str:
    filters = question.filters
    parts = []
    if question.author:
        parts.append(f"list{'s' if count == 1 else ''} {question.author} as an author")
    if filters.year_from or filters.year_to:
        parts.append(f"{'is' if count == 1 else 'are'} from {_years(filters)}")
    return " and ".join(parts)


def _describe(question: CollectionQuestion) -> str:
    parts = [f"the author {question.author}"] if question.author else []
    if question.filters.year_from or question.filters.year_to:
        single = question.filters.year_from == question.filters.year_to
        parts.append(f"the year{'' if single else 's'} {_years(question.filters)}")
    return " and ".join(parts) or "the question"


def _years(filters: Filters) -> str:
    if filters.year_from == filters.year_to:
        return str(filters.year_from)
    if filters.year_to is None:
        return f"{filters.year_from} on"
    if filters.year_from is None:
        return f"before {filters.year_to + 1}"
    return f"{filters.year_from}-{filters.year_to}"


def _said_on(topic: str) -> Callable[[Paper], str]:
    """A listed paper's gist, or where the gist does not name the topic, its best one-line
    sentence that does (ranked as the gist is, and not background): MM1 on mixture of experts is
    "... both dense models and mixture-of-experts (MoE) variants ...", not its multimodal recipe."""
    terms = set(focus_words(topic))

    def says(paper: Paper) -> str:
        gist = _gist(paper)
        if not terms or content_terms(gist) & terms:
            return gist
        naming = _best_line(line for line in _one_liners(paper) if content_terms(line) & terms)
        return naming if naming and not is_background(naming) else gist  # not "MoEs have recently gained ..."

    return says


def _gist(paper: Paper) -> str:
    """The abstract's sentence that says what the paper does: its first contribution sentence
    ("We propose ...", "To constrain it, we propose ..." from its "we") of one line that reads
    without the one before it and cites no other work, else its first one-line sentence that is
    not background ("MoE
    architectures have expanded ...", "Recent results in end-to-end ASR ... (seq2seq)": a digit
    inside a word is no figure); a sentence with markup left after LaTeX-to-text ("we
    propose \\pathmoe") only where no other will do."""
    return _best_line(_one_liners(paper))


def _one_liners(paper: Paper) -> list[str]:
    """The abstract's sentences short enough for one line, fragments left out, each without a
    purpose clause leaning on the sentence before ("To constrain it, we propose ...")."""
    return [without_leaning_purpose(s.strip()) for s in split_sentences(paper.abstract)
            if s.strip() and len(s.strip()) <= _GIST_CHARS and not is_fragment(s.strip())]


def _best_line(lines: Iterable[str]) -> str:
    """The line that best says what a paper does (see _gist); empty when there is none."""
    # A sentence citing another work ("through an algorithm called FastEmit [3]") says less of its own paper.
    return min(enumerate(lines), key=lambda item: ("\\" in latex_to_text(item[1]), bool(MARKER.search(item[1])),
                                                    not claims(item[1]),
                                                    is_background(item[1]), leans_back(item[1]),
                                                    item[0]),
               default=(0, ""))[1]
