"""How a quoted sentence names its paper, so that it reads on its own, from the record alone.

Years and first authors always come from the Paper record; the "what they do" part is a
sentence of the paper's own abstract, turned from "we propose X" into "<Authors> (<year>)
propose X" so a paragraph reads as prose rather than a list of quotes. An answer's sentence that
speaks for its authors ("Our model achieves ...", "It contains ...") is shown after its
attribution instead: `Zhai et al. (2023): "Our model achieves ..."` (see `attributed`).
"""

from __future__ import annotations

import dataclasses
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Sequence

from ..corpus.paper import Paper
from ..index.vocabulary import paper_name
from ..text import fold, printable, split_sentences, without_versions
from .markers import quotable

if TYPE_CHECKING:
    from ..retrieve import Evidence
    from .model import AnswerSentence

# A purpose that leans on the sentence before, dropped from a claim: "To this end, we ...", "To
# fill this gap, we ...", "To constrain it, we ...", "To fine-tune them, we ...", "To deal with
# this, we ...".
_LEANING_PURPOSE = (r"to (?:this end|[a-z]+(?:-[a-z]+)*(?: (?:with|on|for|up))? (?:this|these|such|it|them)\b[^,]*)"
                    r",?\s*")
# What a paper calls itself: "this paper", "in this work", "this report".
_ITSELF = ("paper", "work", "study", "letter", "article", "report")
_ITSELF_WORDS = "|".join(_ITSELF)
_WE_CLAUSE = re.compile(
    rf"^(?:(?:in|here,? in) this (?:{_ITSELF_WORDS}),?\s*|here,?\s*"
    # a clause that leans on the sentence before: "To fill this gap, we ...", "Motivated by this success, we ..."
    rf"|{_LEANING_PURPOSE}|(?:motivated|inspired|encouraged) by (?:this|these)[^,]*,\s*"
    r"|finally,?\s*|specifically,?\s*|in particular,?\s*|additionally,?\s*|moreover,?\s*|furthermore,?\s*"
    r"|overall,?\s*|in (?:summary|conclusion|short),?\s*|together,?\s*|(?:first|second|third)(?:ly)?,?\s*"
    r"|[a-z]+ly(?:\s+and\s+[a-z]+ly)?,\s*"  # "Surprisingly and unexpectedly, we find ..."
    # after a clause of contrast: "Differently from the recent literature, where ..., in this work, we propose ..."
    r"|(?P<contrast>(?:differently\s+from|unlike|in\s+contrast\s+to|contrary\s+to|as\s+opposed\s+to)\b[^.;]{0,160}?"
    rf",\s*in this (?:{_ITSELF_WORDS}),\s*)"
    rf"|as a (?:remedy|solution|result),?\s*|instead,?\s*|in this (?:{_ITSELF_WORDS}),? we also\s*)?"
    r"we\s+(?:(?:also|further|then|instead|first|now|additionally|finally|empirically|experimentally"
    r"|theoretically|systematically|extensively|carefully|thoroughly|comprehensively)\s+)?"
    # "we bridge this gap and present ...": the gap is the sentence before's
    r"(?:(?:bridge|close|fill|narrow|address)\s+(?:this|these|the)\s+gaps?,?\s+and\s+)?"
    r"(?P<verb>[a-z]+)\b(?P<rest>.*)$",
    re.IGNORECASE | re.DOTALL,
)
# The paper speaking of itself in the third person: "This work presents cascaded encoders ...".
_SELF_CLAUSE = re.compile(rf"^(?:here,?\s*|{_LEANING_PURPOSE})?this (?:{_ITSELF_WORDS})\s+"
                          r"(?P<verb>[a-z]+s)\b(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)
_AUXILIARIES = frozenset({"is", "was", "has", "does"})  # "This paper is organized as follows" claims nothing
_CONTRIBUTION_VERBS = (
    "propose", "present", "introduce", "develop", "design", "build", "study", "investigate", "show",
    "demonstrate", "find", "explore", "describe", "analyze", "analyse", "evaluate", "release", "train",
    "revisit", "examine", "formulate", "focus", "take", "leverage", "apply", "compare", "report", "look",
    "conduct", "provide", "extend", "construct", "create", "establish", "identify", "observe", "adopt",
    "prove", "derive", "argue", "validate", "achieve", "obtain", "discuss", "highlight", "summarize",
    "benchmark", "quantify", "measure", "characterize", "characterise", "summarise",
    "offer", "use", "employ", "address", "tackle", "collect", "compile", "reveal", "verify",
)


_ANAPHORA = re.compile(r"\b(?:this|these|those|such|it|they|above)\b", re.IGNORECASE)
# A later item of a list the sentence before began: "Secondly, we also explore ...".
_GOING_ON = re.compile(r"(?:second(?:ly)?|third(?:ly)?|fourth(?:ly)?|finally|lastly|moreover|furthermore|besides"
                       r"|additionally|in addition|also)\b(?!-)", re.IGNORECASE)  # not "Second-pass rescoring"
_FIRST_PERSON = re.compile(r"\b(?:we|our|ours|us)\b", re.IGNORECASE)
# An opening that needs the paper named to make sense: "It contains ...", "This paper ...".
_LEANING_OPENING = re.compile(r"^(?:it|its|this|these|those|they|their|here|such|both|the (?:proposed|former|latter)"
                              rf"|in this (?:{_ITSELF_WORDS}))\b",
                              re.IGNORECASE)
_THIRD_PERSON = {"we": "they", "our": "their", "ours": "theirs", "us": "them"}
_DISCOURSE_MARKER = re.compile(
    r"^(?:however|moreover|furthermore|additionally|in addition|in particular|specifically|finally|thus|hence"
    r"|therefore|instead|indeed|notably|importantly|to this end|to address this(?: [a-z]+)?),\s*",
    re.IGNORECASE,
)


def attribution(paper: Paper) -> str:
    """"Zhai et al. (2023)", "Hu, Qiu and Tang", "A 2025 study (arXiv:2508.19990)", "One study"."""
    if paper.authors:
        # Names go into shown sentences: an index written before ingest stripped control
        # characters may still hold them.
        surnames = [printable(a).split()[-1] for a in paper.authors]
        if len(surnames) > 2 or paper.authors_truncated:
            who = f"{surnames[0]} et al."
        else:
            who = " and ".join(surnames)
        return f"{who} ({paper.year})" if paper.year else who
    if paper.arxiv_id:
        return f"A {paper.year} study (arXiv:{paper.arxiv_id})" if paper.year else f"A study (arXiv:{paper.arxiv_id})"
    return "One study"


def in_first_person(sentence: str) -> bool:
    """Whether the sentence speaks for its authors ("we", "our", "us")."""
    return bool(_FIRST_PERSON.search(sentence))


def claims(sentence: str) -> bool:
    """Whether `sentence` says what its paper adds: "We propose ...", "This work presents ..."."""
    return _claim(sentence) is not None


_PURPOSE_BEFORE_WE = re.compile(rf"^(?:{_LEANING_PURPOSE})(?=we\b)", re.IGNORECASE)


def without_leaning_purpose(sentence: str) -> str:
    """The sentence from its "we" when a purpose only the sentence before says opens it: "To
    constrain it, we propose X" -> "we propose X" (as written, so still a quote of the abstract)."""
    match = _PURPOSE_BEFORE_WE.match(sentence)
    return sentence[match.end():] if match else sentence


def leans_back(sentence: str) -> bool:
    """Whether a sentence refers back to the one before it in its first words ("we show how to
    do this", "These models ...") or goes on from it ("Secondly, we ...", "Moreover, ..."): a
    poor sentence to lift out. "In this paper, we ..." names its own paper, no reference back."""
    opening = _LEAD_IN.sub("", sentence)
    return bool(_GOING_ON.match(opening)) or _points_back(opening)


# What a paper's own sentence may open with and still read after its attribution ("Chi et al.:
# “This approach ...”"): the paper's own contribution. "This replacement", "These settings" name
# a thing only the sentence before says.
_OWN_THING = frozenset(_ITSELF) | frozenset("""model approach method framework system technique algorithm
architecture design recipe benchmark dataset corpus collection suite toolkit library""".split())
_THIS_THING = re.compile(r"^(?:this|these|such|the\s+latter|the\s+former)\s+([a-z-]+)", re.IGNORECASE)
# "This" as a pronoun ("This is achieved by ...", "This allows ...", "This way, ..."): what
# the paper did, read after its name.
_PRONOUN_NEXT = frozenset("""is was are were has have had can could will would may might should does did also not
way in""".split())


_NOUN_ENDINGS = ("ss", "is", "us", "as")  # "This bias", "This analysis", "This focus": nouns, no verbs
_ADVERBS = frozenset("often far further also thus therefore then still even only".split())


def _names_no_thing(determiner: str, word: str) -> bool:
    """Whether "<determiner> <word>" opens with the paper's own thing or "this" as a pronoun
    (a verb after it: "This allows ..."), not a thing only the sentence before names."""
    # "This allows ...", "This often ...": a verb or an adverb after "this" makes it a pronoun.
    verb = determiner == "this" and (word.endswith(("s", "ly")) and not word.endswith(_NOUN_ENDINGS) or word in _ADVERBS)
    singular = {word, word[:-1], word[:-2]} if word.endswith("s") else {word}  # "these approaches"
    return bool(singular & _OWN_THING) or word in _PRONOUN_NEXT or verb


# Items of a list the sentence before began: "Settings (2) and (3) use ...".
_LATER_ITEM = re.compile(r"\((?:[2-9]|ii|iii|iv|v)\)")
_FIRST_ITEM = re.compile(r"\((?:1|i)\)")


def needs_the_sentence_before(sentence: str) -> bool:
    """Whether `sentence` names something only the sentence before it says ("This replacement
    allows the student ...", "Settings (2) and (3) use ..."), so that it says nothing quoted alone,
    even after its paper's name; "It contains ..." and "This approach ..." read as the paper's own."""
    if _LATER_ITEM.search(sentence) and not _FIRST_ITEM.search(sentence):
        return True
    opening = _THIS_THING.match(_LEAD_IN.sub("", sentence))
    # A result with its figure says something alone: "This VIM-L beats iGPT-L: 60.3% to 73.2%".
    return (bool(opening) and not _names_no_thing(opening[0].split()[0].lower(), opening[1].lower())
            and not _has_figure(sentence))


def _points_back(text: str) -> bool:
    """Whether the first words of `text` refer to something before them ("this", "it", "such")."""
    return bool(_ANAPHORA.search(" ".join(text.split()[:10])))


def distinct_attributions(papers: Sequence[Paper]) -> dict[str, str]:
    """Each paper's attribution, with a letter after the year where two papers would read alike:
    "Yu et al. (2020a)" and "Yu et al. (2020b)", in the order given."""
    by_name: dict[str, list[Paper]] = {}
    for paper in papers:
        by_name.setdefault(attribution(paper), []).append(paper)
    named = {}
    for name, alike in by_name.items():
        for position, paper in enumerate(alike):
            year = f"({paper.year})"
            lettered = len(alike) > 1 and year in name and position < 26
            named[paper.key] = name.replace(year, f"({paper.year}{chr(ord('a') + position)})") if lettered else name
    return named


def is_plural(paper: Paper) -> bool:
    return len(paper.authors) > 1 or paper.authors_truncated


def _third_person(verb: str) -> str:
    if verb.endswith("y") and verb[-2:-1] not in "aeiou":
        return verb[:-1] + "ies"
    if verb.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    return verb + "s"


def attributed(paper: Paper, sentence: str) -> tuple[str, str]:
    """(lead, text): how an abstract's sentence is shown so that it reads on its own.

    "As a remedy, we propose σReparam, ..." -> ("Zhai et al. (2023) propose", "σReparam, ...");
    a sentence speaking for its authors otherwise ("Our model ...", "It contains ...") is quoted
    after "Zhai et al. (2023):"; any other sentence needs no lead (""). The text is always a
    part of the sentence as written, so it is what verification checks.
    """
    match = _claim(sentence)
    # The text is shown as written: a later verb that would disagree with the lead's subject
    # ("Hu et al. focus on X and proposes") keeps the sentence whole, quoted.
    if match and not _FIRST_PERSON.search(match["rest"]) and _agreeing(match["rest"], is_plural(paper)) == match["rest"]:
        rest = match["rest"].strip()
        if rest and rest[0] not in ",;:.)":
            return f"{attribution(paper)} {_conjugated(match['verb'].lower(), paper)}", rest
    if (_LEANING_OPENING.match(sentence) or _PRONOUN_AFTER_OPENING.match(sentence) or _FIRST_PERSON.search(sentence)
            or _unowned_result(paper, sentence)):
        return f"{attribution(paper)}:", sentence
    return "", sentence


_OPENING_WORD = re.compile(r"[^\W_][\w-]*")
# A pronoun subject after an opening phrase: "During inference, it generates speech ...".
_PRONOUN_AFTER_OPENING = re.compile(r"^[^,;]{1,80},\s*(?:it|its|they|their)\b", re.IGNORECASE)
# A finding opened by whose experiments it is not: "Extensive experiments on CoVoST v2 ... reveal that ...".
_RESULTS_SHOW = re.compile(r"^(?:[\w-]+\s+){0,2}?(?:experiments?|results?|evaluations?|analys[ie]s)\b[^.;]{0,200}?"
                           r"\b(?:show|reveal|demonstrate|indicate|suggest|confirm)(?:s|ed)?\s+that\b", re.IGNORECASE)


def _unowned_result(paper: Paper, sentence: str) -> bool:
    """Whether `sentence` gives a result with its figure, or as what experiments show, but does
    not name whose: "Training on all labeled data of Librispeech achieves WERs of 1.5%/3.1%",
    "WER improves by 10%" or "Extensive experiments ... reveal that ..." reads as a fact of the
    field until its paper is named; "FastEmit also improves ... to 3.1%" and
    "Conformer-based models ..." in the Conformer paper name their subject (a coined word, mixed
    case as "FastEmit" or "dMel", or the name the paper's title gives it)."""
    if not (_FINDING.search(sentence) and _has_figure(sentence) or _RESULTS_SHOW.match(sentence)):
        return False
    first = _OPENING_WORD.match(sentence)
    name = paper_name(paper)[0]
    return not any(fold(part) in name or (any(ch.islower() for ch in part) and any(ch.isupper() for ch in part[1:]))
                   for part in (first.group(0) if first else "").split("-"))


def attribute(sentences: Sequence["AnswerSentence"], evidence: Sequence["Evidence"]) -> list["AnswerSentence"]:
    """The answer's sentences, each that speaks for its authors led by its first cited paper's
    attribution (see `attributed`); sentences already attributed, or citing none, stay as they are.

    Quotation marks promise the paper's own words: a model's rewording of a sentence that speaks
    for its authors ("This innovation enables us to ...", one word changed) is shown as the
    evidence sentence it was verified against, when it cites that one paper alone."""
    papers = {e.paper.key: e.paper for e in evidence}
    shown: list[AnswerSentence] = []
    for s in sentences:
        if not s.lead and s.citations and s.citations[0].key in papers:
            paper, quote = papers[s.citations[0].key], s.citations[0].quote
            lead, text = attributed(paper, s.text)
            if lead.endswith(":") and s.origin != "extractive" and text != quote and len(s.citations) == 1 and quote:
                lead, text = attributed(paper, quote)
                if any((t.lead, t.text) == (lead, text) for t in shown):
                    continue  # two rewordings of one sentence: it is shown once
            s = dataclasses.replace(s, lead=lead, text=text)
        shown.append(s)
    return shown


def _conjugated(verb: str, paper: Paper) -> str:
    return verb if is_plural(paper) else _third_person(verb)


def contribution(paper: Paper, topic_terms: set[str], exclude: str | None = None,
                 subject: str | None = None) -> tuple[str, str]:
    """("<attribution> <verb> ...", the abstract sentence it was built from, as written).

    Prefers sentences that read alone, then those that are not background ("Recent work has
    shown ..."), then "we <verb> ..." claims, and among them those sharing words with the topic:
    SpeakStream is introduced by "we present SpeakStream, a streaming TTS system", not by its
    opening "The latency bottleneck of traditional text-to-speech ..."; falls back to
    "<attribution> report that <finding>" or "note that <background>". Pieces of a sentence
    (is_fragment) are skipped. First person left in the
    clause becomes third ("which we term" -> "which they term"). `exclude` skips a sentence
    already used.
    """
    candidates = []
    for position, written in enumerate(split_sentences(paper.abstract)):
        if written == exclude:
            continue
        sentence = quotable(written)  # its own reference markers ("[1]") would read as ours
        if not sentence or is_fragment(sentence):
            continue
        overlap = len(topic_terms & {w.lower() for w in re.findall(r"[A-Za-z][\w-]+", sentence)})
        match = _claim(sentence)
        is_claim = match is not None
        # A claim is shown from its verb on ("To this end, we propose X": "... propose X").
        leans = leans_back(match["rest"] if match else sentence) or (
            not is_claim and bool(_FIRST_PERSON.search(sentence)))
        background = is_background(sentence)
        candidates.append((leans, background, not is_claim, not overlap, -overlap, position, written, sentence, match))
    if not candidates:
        raise ValueError(f"{paper.key} has no abstract sentence left to attribute")
    *_, written, sentence, match = min(candidates, key=lambda c: c[:6])
    subject = subject or attribution(paper)
    if match:
        # "One study explores X and shows that ...", "Hu et al. focus on X and propose ..."
        rest = _agreeing(_in_third_person(match["rest"]), is_plural(paper))
        return _end(f"{subject} {_conjugated(match['verb'].lower(), paper)}{rest}"), written
    clause = _in_third_person(_DISCOURSE_MARKER.sub("", _LEAD_IN.sub("", sentence)))
    plural = is_plural(paper)
    verb = ("report" if plural else "reports") if _FINDING.search(clause) else ("note" if plural else "notes")
    first = clause.split()[0] if clause.split() else clause
    # An acronym or a coined name keeps its capitals ("ASR models ...", "ChipChat ..."); "A single ..." does not.
    opening = clause if len(first) > 1 and any(c.isupper() for c in first[1:]) else clause[0].lower() + clause[1:]
    return _end(f"{subject} {verb} that {opening}"), written


_LEAD_IN = re.compile(rf"^(?:in this (?:{_ITSELF_WORDS})|here),?\s*", re.IGNORECASE)
# A finding: a figure, or a result verb ("outperforms", "achieves", "improves").
_FINDING = re.compile(r"\d(?:\.\d+)?\s*%|\b(?:outperform|achiev|improv|reduc|surpass|yield|obtain)\w*", re.IGNORECASE)
# The field as the paper found it, not what the paper adds: "Recent results have shown ...",
# "Existing methods assume ...", "X has sparked interest ...", "X are emerging as ...".
_BACKGROUND = re.compile(
    r"^(?:recent(?:ly)?|existing|previous|prior|conventional|traditional|current|many|most|while|although|despite"
    r"|however)\b"
    r"|\b(?:has|have)\s+(?:not\s+)?(?:\w+ly\s+|also\s+|long\s+)?"
    r"(?:been|shown|emerged|sparked|gained|become|demonstrated|attracted|received|explored|investigated|expanded"
    r"|proposed|studied|focused|relied|revolutionized|transformed|dominated|advanced|grown|made|witnessed|seen"
    r"|opened)\b"
    r"|\b(?:remains?|is) (?:a |an )?(?:challenging|open|important|critical|key|crucial|fundamental|largely)\b"
    r"|\bremains?\s+(?:a|an)\s+(?:\w+\s+){0,2}(?:challenge|problem|bottleneck|question|issue|obstacle)\b"
    r"|\b(?:remains?|is|are)\s+(?:largely\s+|still\s+|relatively\s+)?(?:underexplored|unexplored|understudied)\b"
    r"|\b(?:is|are) (?:emerging|becoming|gaining)\b"
    r"|\b(?:is|are) (?:widely|commonly|increasingly|now) (?:used|adopted|deployed|studied)\b"
    # "Since NAR models must wait ...", "most methods rely on ...", "some works explore ...", and
    # what a task is for: "Streaming ASR aims to emit each word as quickly as possible".
    r"|^since\b"
    r"|\b(?:some|many|several|most|prior|previous|existing|recent|other)\s+(?:works?|studies|approaches|methods|systems)\s+"
    r"(?:\w+ly\s+)?(?:have\s+)?(?:explored?|proposed?|used?|rel(?:y|ied)|focus(?:ed)?|adopt(?:ed)?|assumed?"
    r"|require[sd]?|suffer(?:ed)?)\b"
    r"|^(?!this\b|these\b|our\b|the proposed\b)[^,;]{0,80}?\baims?\s+to\b",
    re.IGNORECASE)


# What a paper sets out from, though said in the first person: the gap it fills ("To the best of
# our knowledge, no existing work establishes a competitive, practical recipe for FL with DP"),
# or what it expected before its results ("we expect that soft-labels ... should improve PL
# performance", where the paper then finds they lead to divergence).
_SETUP = re.compile(r"\bto\s+the\s+best\s+of\s+our\s+knowledge,?\s+(?:no|none|little|there\s+(?:is|are|exists?|has\s+been"
                    r"|have\s+been)\s+(?:no|little))\b"
                    r"|^(?:no|few|little)\s+(?:existing\s+|prior\s+|previous\s+)?(?:works?|studies|research|methods?)\b"
                    r"|\bwe\s+(?:expect|anticipate)\s+that\b",
                    re.IGNORECASE)


# A sentence about the paper's own work ("The proposed method has ...", besides "we"), or a
# finding with its figure ("Experiments have shown a 10% reduction"): never background.
_OWN_WORDS = rf"\b(?:the proposed|this (?:{_ITSELF_WORDS}))\b"
_FIGURE_DIGIT = re.compile(r"(?<![^\W\d_])\d")  # a figure, not the 2 of E2E
_OWN_WORK = re.compile(_OWN_WORDS + "|" + _FIGURE_DIGIT.pattern, re.IGNORECASE)


def _has_figure(sentence: str) -> bool:
    """Whether `sentence` gives a figure: a number standing alone, not a version ("wav2vec 2.0")."""
    return bool(_FIGURE_DIGIT.search(without_versions(sentence)))


# Pieces of a sentence, not sentences: "(3) What capabilities ...", "... show that: 1.", "... the
# labeler's prompt, 3." (a numbered list split at its numbers), a question, or a split that starts
# inside a clause ("and improves ...").
_FRAGMENT = re.compile(r"^\(?\d+[).]\s|^(?:and|or|but|which|that|while|whereas|as well as)\b|[:;]\s*\d*\.?$"
                       r"|,\s*\d+\.?$|\?$")


def is_fragment(sentence: str) -> bool:
    """Whether a split of the abstract is a piece of a sentence, not one to quote or attribute:
    "Results across multiple benchmarks show that: 1." was a related-work sentence."""
    return bool(_FRAGMENT.search(sentence))


@lru_cache(maxsize=4096)  # the drafter, the gist, related work and the model check read the same sentences
def is_background(sentence: str) -> bool:
    """Whether `sentence` describes the field as the paper found it ("Recent work has explored
    ...", "Existing methods assume ...") or what the paper set out from (_SETUP: the gap it
    fills, what it expected) rather than what the paper adds or finds (first person, _OWN_WORK).
    A digit inside a word (E2E, seq2seq, wav2vec) is no figure: "End-to-end (E2E) models have
    shown competitive performance" is the field's, in an answer, a related-work section and a
    listed paper's gist alike."""
    if _SETUP.search(sentence) and not _has_figure(sentence):
        return True  # with its figure it is a result: "to our knowledge, no other system achieves 2% WER"
    return (not (_FIRST_PERSON.search(sentence) or _OWN_WORK.search(without_versions(sentence)))
            and bool(_BACKGROUND.search(sentence)))


def is_finding(sentence: str) -> bool:
    """Whether `sentence` states a result: a figure or a result verb ("outperforms", "achieves")."""
    return bool(_FINDING.search(sentence))


def gives_background(sentence: AnswerSentence) -> bool:
    """Whether an answer sentence gives only the field as its papers found it: every quote it was
    checked against does (a model's rewording of "Recent work has explored ..."), or a model's
    own words read so ("ChipChat has shown promise ...", where a figure would make it a finding).
    A paper's own sentence is judged whole, by its quote: its shown text may be the part after
    "Arora et al. propose", without the "we" that makes it the paper's."""
    quoted = bool(sentence.citations) and all(is_background(c.quote) for c in sentence.citations)
    return quoted or (sentence.origin != "extractive" and is_background(sentence.text))


def _claim(sentence: str) -> dict[str, str] | None:
    """The verb (as after "we") and the rest of a sentence claiming what its paper adds ("we
    <verb> ...", "This work <verb>s ..."), else None."""
    match = _WE_CLAUSE.match(sentence)
    # Without its clause of contrast, a claim that points back into it ("Unlike X, in this work, we
    # show that it ...") says nothing alone.
    if (match and match["verb"].lower() in _CONTRIBUTION_VERBS
            and not (match["contrast"] and _points_back(match["rest"]))):
        return {"verb": match["verb"], "rest": match["rest"]}
    match = _SELF_CLAUSE.match(sentence)  # any verb: "This work addresses X" is the paper's, whatever it does
    if match and match["verb"].lower() not in _AUXILIARIES:
        return {"verb": _plain(match["verb"].lower()), "rest": match["rest"]}
    return None


def _plain(verb: str) -> str:
    """A verb's plain form from its third person: "presents" -> "present", "studies" -> "study",
    "focuses" -> "focus", "addresses" -> "address"."""
    if verb.endswith("ies"):
        regular = verb[:-3] + "y"
    elif verb.endswith(("shes", "ches", "xes", "sses", "zes")):
        regular = verb[:-2]
    else:
        regular = verb[:-1] if verb.endswith("s") else verb
    # The rules miss some ("focuses"): a contribution verb the form ends in is taken first.
    return next((form for form in (regular, verb[:-1], verb[:-2]) if form in _CONTRIBUTION_VERBS), regular)


# A second verb of the claim ("... and show that"): one that reads as a noun too ("code and
# benchmarks", "search and design") is left as written, and so is anything after "that", "which",
# "how" ..., where the verb has another subject ("that larger models converge and achieve").
_NOUN_LIKE = frozenset({"design", "study", "report", "benchmark", "measure", "focus", "release", "train", "build",
                        "look", "take", "find"})
_VERB_FORMS = {form: verb for verb in _CONTRIBUTION_VERBS if verb not in _NOUN_LIKE
               for form in (verb, _third_person(verb))}  # "show"/"shows" -> "show"
_COORDINATED_VERB = re.compile(r"(?P<and>\b(?:and|but|then)\s+(?:also\s+)?)(?P<verb>"
                               + "|".join(sorted(_VERB_FORMS, key=len, reverse=True)) + r")\b")
_SUBORDINATE = re.compile(r"\b(?:that|which|how|whether|where|who|when|while|if)\b")


def _agreeing(rest: str, plural: bool) -> str:
    """The claim's coordinated verbs in the form its subject takes ("we explore X and show"
    said of one study: "and shows"; "this work focuses on X and proposes" of several authors:
    "and propose"), up to its first subordinate clause."""
    cut = _SUBORDINATE.search(rest)
    head, tail = (rest[:cut.start()], rest[cut.start():]) if cut else (rest, "")

    def agree(match: re.Match[str]) -> str:
        verb = _VERB_FORMS[match["verb"]]
        return f"{match['and']}{verb if plural else _third_person(verb)}"

    return _COORDINATED_VERB.sub(agree, head) + tail


def _in_third_person(text: str) -> str:
    """"we"/"our"/"us" as "they"/"their"/"them": the authors, spoken of by a reader."""
    def swap(match: re.Match[str]) -> str:
        word = _THIRD_PERSON[match.group().lower()]
        return word.capitalize() if match.group()[0].isupper() else word

    return _FIRST_PERSON.sub(swap, text)


def _end(text: str) -> str:
    """A sentence ending in exactly one full stop (a question stays a question)."""
    text = text.rstrip()
    return text if text.endswith(("?", "!")) else text.rstrip(".") + "."
