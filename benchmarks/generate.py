"""Generate a realistic benchmark hub of N items, and the same content for Hugo, Pelican and MkDocs.

    python benchmarks/generate.py --items 4000 --out benchmarks/work/gen [--seed 42]
        [--layouts hub,hugo,pelican,mkdocs]

Each layout goes to its own folder under --out (hub/, hugo/, pelican/, mkdocs/). Every item is
~1,000 words of Norwegian-ish prose made from a seeded random generator over the word lists below:
paragraphs, 3-5 `##` headings, a bullet list, a pipe table, a fenced code block and 2-3 links to
other generated items; checklists also carry `- [ ] ` task lists. The same seed and N give the same
bytes (item i is also the same for every N, apart from which items its links point at).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import shutil
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

LAYOUTS = ("hub", "hugo", "pelican", "mkdocs")
DEFAULT_SEED = 42

# Dates are anchored, not taken from the clock, so the output is byte-identical on any day. The
# window is two years that lie in the past (nothing is held back as "scheduled").
DATE_END = dt.date(2026, 8, 31)
DATE_SPAN_DAYS = 730

SITE_TITLE = "Nordvarde Kunnskapsbank"
BASE_URL = "https://kunnskap.nordvarde.example/"

SECTIONS = {"article": "articles", "ebook": "ebooks", "checklist": "checklists"}
SECTION_TITLES = {"articles": "Artikler", "ebooks": "E-bøker", "checklists": "Sjekklister"}
PERSONAS = ("cfo", "superintendent", "master", "procurement", "yard")
PHASES = ("early", "mid", "late")

# --- word lists (bokmål-ish, written for this benchmark) ------------------------------------------

SUBJECTS = (
    "rederiet", "verftet", "leverandøren", "innkjøpssjefen", "skipsføreren",
    "den tekniske inspektøren", "økonomidirektøren", "prosjektlederen", "mannskapet", "styret",
    "klasseselskapet", "serviceteamet", "navigatøren", "styrmannen", "driftssjefen",
    "kontraktsansvarlig", "integratoren", "flåtesjefen", "rådgiveren", "kunden", "ledelsen",
    "innkjøpsteamet", "prosjektgruppen", "fagansvarlig", "maskinsjefen", "losen", "kvalitetssjefen",
    "budsjettansvarlig", "sikkerhetslederen", "underleverandøren",
)
VERBS = (
    "vurderer", "sammenligner", "planlegger", "beregner", "dokumenterer", "prioriterer",
    "kartlegger", "tester", "kontrollerer", "oppdaterer", "beskriver", "undervurderer",
    "godkjenner", "bestiller", "reduserer", "måler", "følger opp", "justerer", "velger",
    "forhandler om", "analyserer", "spesifiserer", "etterspør", "budsjetterer", "gjennomgår",
    "forenkler", "standardiserer", "sikrer", "verifiserer", "evaluerer",
)
INFINITIVES = (
    "vurdere", "sammenligne", "planlegge", "beregne", "dokumentere", "prioritere", "kartlegge",
    "teste", "kontrollere", "oppdatere", "beskrive", "godkjenne", "bestille", "redusere", "måle",
    "følge opp", "justere", "velge", "forhandle om", "analysere", "spesifisere", "budsjettere",
    "gjennomgå", "forenkle", "standardisere", "sikre", "verifisere", "evaluere",
)
IMPERATIVES = (
    "Vurder", "Sammenlign", "Planlegg", "Beregn", "Dokumenter", "Prioriter", "Kartlegg", "Test",
    "Kontroller", "Oppdater", "Beskriv", "Godkjenn", "Bestill", "Reduser", "Mål", "Følg opp",
    "Juster", "Velg", "Analyser", "Spesifiser", "Gjennomgå", "Forenkle", "Standardiser", "Sikre",
    "Verifiser", "Evaluer", "Avklar", "Noter", "Sjekk", "Bekreft",
)
OBJECTS = (
    "kostnadene", "kravspesifikasjonen", "tilbudene", "risikoen", "installasjonen",
    "serviceavtalen", "opplæringen", "budsjettet", "nedetiden", "framdriften", "alarmene",
    "programvaren", "reservedelene", "lisensene", "grensesnittet", "kontrakten", "sjøprøven",
    "dokumentasjonen", "vedlikeholdet", "integrasjonen", "radaranlegget", "kartdataene",
    "autopiloten", "strømforsyningen", "nettverket", "brukergrensesnittet", "garantien",
    "leveransen", "testplanen", "endringsordrene", "kabelføringen", "konsollene", "sensorene",
    "oppgraderingene", "driftskostnadene", "livsløpet", "tidsplanen", "ansvarsfordelingen",
    "risikoanalysen", "akseptkriteriene",
)
ADVERBIALS = (
    "før kontrakten signeres", "i hele levetiden", "hver vakt", "på tvers av flåten",
    "i tidlig fase", "sammen med verftet", "uten å miste oversikten", "ved neste dokking",
    "i praksis", "for hvert fartøy", "med faste priser", "innen fristen",
    "gjennom hele prosjektet", "allerede i dag", "i løpet av de første årene",
    "når skipet ligger i havn", "etter overleveringen", "under sjøprøven",
    "i budsjettet for neste år", "før første tilbudsrunde", "på en strukturert måte",
    "med god margin", "i tett dialog med leverandøren", "for å unngå overraskelser",
    "i hvert enkelt tilfelle", "sammen med mannskapet", "fra dag én", "uten unødvendige forsinkelser",
)
NEUTER_ADJECTIVES = (
    "viktig", "avgjørende", "nødvendig", "lurt", "klokt", "vanlig", "sjelden", "fornuftig",
    "kritisk", "uvanlig", "nyttig", "krevende", "dyrt", "enkelt", "tryggest", "billigst",
)
CONNECTORS = (
    "Derfor", "Likevel", "I tillegg", "Samtidig", "Ofte", "Til slutt", "Dessuten", "Først",
    "Deretter", "I mange tilfeller", "For de fleste rederier", "I praksis", "Heldigvis",
    "Erfaringsmessig", "På sikt", "Etter vår erfaring",
)
PLURALS = (
    "rederier", "verft", "innkjøpere", "skipsførere", "inspektører", "leverandører",
    "prosjektledere", "mannskaper", "styrer", "team", "rådgivere", "kunder",
)
MODALS = ("bør", "må", "kan", "skal", "vil")
EVENTS = ("kontraktsmøtet", "sjøprøven", "verkstedsoppholdet", "tilbudsfristen", "styremøtet",
          "overleveringen", "første tilbudsrunde", "klassebesøket")
SHIP_NAMES = ("Nordlys", "Havbris", "Fjordstjerne", "Kystvakt", "Polarlys", "Skjærgård",
              "Stormfugl", "Vesterhav", "Trollfjord", "Lofotodden")

# (tag used in front matter, label used in titles)
TOPICS = (
    ("radar", "radar"), ("ecdis", "ECDIS"), ("autopilot", "autopilot"),
    ("alarmhåndtering", "alarmhåndtering"), ("cybersikkerhet", "cybersikkerhet"),
    ("totalkostnad", "totalkostnad"), ("budsjett", "budsjett"), ("vedlikehold", "vedlikehold"),
    ("innkjøp", "innkjøp"), ("kontrakt", "kontrakter"), ("klassekrav", "klassekrav"),
    ("opplæring", "opplæring"), ("ettermontering", "ettermontering"), ("nybygg", "nybygg"),
    ("sjøprøve", "sjøprøve"), ("integrert-bro", "integrert bro"), ("kartdata", "kartdata"),
    ("lisenser", "lisenser"), ("serviceavtale", "serviceavtaler"), ("reservedeler", "reservedeler"),
    ("fjernstøtte", "fjernstøtte"), ("dataintegrasjon", "dataintegrasjon"),
    ("energieffektivitet", "energieffektivitet"), ("utslipp", "utslipp"), ("regelverk", "regelverk"),
    ("imo-krav", "IMO-krav"), ("risikovurdering", "risikovurdering"),
    ("prosjektstyring", "prosjektstyring"), ("leverandørvalg", "leverandørvalg"),
    ("kravspesifikasjon", "kravspesifikasjon"), ("livsløpskostnad", "livsløpskostnad"),
    ("nedetid", "nedetid"), ("sensorer", "sensorer"), ("navigasjonslys", "navigasjonslys"),
    ("kommunikasjon", "kommunikasjon"), ("gmdss", "GMDSS"),
    ("dynamisk-posisjonering", "dynamisk posisjonering"), ("ergonomi", "ergonomi"),
    ("vaktordning", "vaktordning"), ("digital-tvilling", "digital tvilling"),
)


@dataclass(frozen=True)
class Item:
    index: int
    type: str  # article | ebook | checklist
    slug: str
    title: str
    summary: str
    personas: tuple[str, ...]  # ("all",) or persona keys
    phases: tuple[str, ...]
    access: str | None  # explicit `access:` in front matter, or None (policy decides)
    gated: bool  # what hubgen will resolve (late = gated unless the item says otherwise)
    date: dt.date
    updated: dt.date | None
    topics: tuple[str, ...]
    body: str

    @property
    def section(self) -> str:
        return SECTIONS[self.type]

    @property
    def url(self) -> str:
        return f"/{self.section}/{self.slug}/"


def slugify(text: str) -> str:
    """Lower-case ASCII slug, æ→ae, ø→o, å→a (the same rule as hubgen's)."""
    text = text.lower().replace("æ", "ae").replace("ø", "o").replace("å", "a")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    if len(slug) > 70:
        slug = slug[:70].rsplit("-", 1)[0]
    return slug


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _number(rng: random.Random, low: int, high: int) -> str:
    """A Norwegian-formatted integer (space as thousands separator)."""
    return f"{rng.randint(low, high):,}".replace(",", " ")


# --- prose ---------------------------------------------------------------------------------------


def sentence(rng: random.Random) -> str:
    c = rng.choice
    s, s2 = c(SUBJECTS), c(SUBJECTS)
    o, o2 = c(OBJECTS), c(OBJECTS)
    v, v2 = c(VERBS), c(VERBS)
    a = c(ADVERBIALS)
    templates: tuple[Callable[[], str], ...] = (
        lambda: f"{_cap(s)} {v} {o} {a}.",
        lambda: f"{c(CONNECTORS)} {v} {s} {o} {a}.",
        lambda: f"Når {s} {v} {o}, {c(MODALS)} {s2} {c(INFINITIVES)} {o2} {a}.",
        lambda: f"Det er {c(NEUTER_ADJECTIVES)} at {s} {v} {o} {a}.",
        lambda: f"{_cap(s)} {c(MODALS)} {c(INFINITIVES)} {o} {a}, ellers blir {o2} fort et problem.",
        lambda: f"Mange {c(PLURALS)} {v} {o} {a}, men få {v2} {o2}.",
        lambda: f"{_cap(s)} {c(MODALS)} vite hva {o} koster {a}.",
        lambda: f"Rundt {rng.randint(5, 95)} prosent av {o} henger sammen med {o2}.",
        lambda: f"{c(CONNECTORS)} er det {o} som avgjør om {s} lykkes {a}.",
        lambda: f"Spør {s} hvordan {o} påvirker {o2}.",
        lambda: f"Hvem eier {o} {a}?",
        lambda: f"{_cap(s)} {v} sjelden {o}, og det merkes {a}.",
        lambda: f"Erfaringen viser at {o} koster {_number(rng, 50, 4000)} tusen kroner mer når "
                f"{s} venter.",
    )
    return c(templates)()


def paragraph(rng: random.Random, low: int = 3, high: int = 6) -> str:
    return " ".join(sentence(rng) for _ in range(rng.randint(low, high)))


def heading(rng: random.Random) -> str:
    c = rng.choice
    o, o2 = c(OBJECTS), c(OBJECTS)
    return c((
        f"Slik {c(VERBS)} dere {o}",
        f"Hva koster {o}?",
        f"Når {o} blir et problem",
        f"{rng.randint(3, 9)} råd om {o}",
        f"Hvem har ansvar for {o}?",
        f"{_cap(o)} i praksis",
        f"Spørsmål å stille om {o}",
        f"Fra {o} til {o2}",
        f"Det viktigste om {o}",
        f"{_cap(o)} {c(ADVERBIALS)}",
    ))


def bullet_list(rng: random.Random) -> str:
    lines = []
    for _ in range(rng.randint(4, 6)):
        lines.append(f"- **{_cap(rng.choice(OBJECTS))}** som {rng.choice(SUBJECTS)} "
                     f"{rng.choice(VERBS)} {rng.choice(ADVERBIALS)}.")
    return "\n".join(lines)


def task_list(rng: random.Random) -> str:
    lines = []
    for _ in range(rng.randint(4, 7)):
        lines.append(f"- [ ] {rng.choice(IMPERATIVES)} {rng.choice(OBJECTS)} "
                     f"{rng.choice(ADVERBIALS)}.")
    return "\n".join(lines)


def table(rng: random.Random) -> str:
    rows = ["| Post | Alternativ A | Alternativ B | Merknad |", "|---|---:|---:|---|"]
    total_a = total_b = 0
    for obj in rng.sample(OBJECTS, rng.randint(4, 6)):
        a, b = rng.randint(100, 5000), rng.randint(100, 5000)
        total_a, total_b = total_a + a, total_b + b
        note = f"{_cap(rng.choice(NEUTER_ADJECTIVES))} {rng.choice(ADVERBIALS)}"
        rows.append(f"| {_cap(obj)} | {a:,} | {b:,} | {note} |".replace(",", " "))
    rows.append(f"| **Sum** | **{total_a:,}** | **{total_b:,}** | |".replace(",", " "))
    return "\n".join(rows)


def code_block(rng: random.Random) -> str:
    ship = rng.choice(SHIP_NAMES)
    kind = rng.choice(("yaml", "json", "python", "text"))
    if kind == "yaml":
        body = (f"fartoy: \"MS {ship}\"\nimo: 9{rng.randint(100000, 999999)}\nbro:\n"
                f"  radar: {rng.choice(('solid-state', 'magnetron'))}\n"
                f"  ecdis: {rng.randint(1, 3)}\n"
                f"  autopilot: {rng.choice(('adaptiv', 'standard'))}\n"
                f"service:\n  responstid_timer: {rng.randint(4, 72)}\n"
                f"  pris_per_aar: {rng.randint(50, 900) * 1000}")
    elif kind == "json":
        body = json.dumps({"fartoy": f"MS {ship}", "aar": rng.randint(1995, 2024),
                           "alarmer_per_vakt": rng.randint(3, 80),
                           "systemer": rng.sample(["radar", "ecdis", "autopilot", "gyro",
                                                   "ais", "vdr", "bnwas"], 3)}, indent=2)
    elif kind == "python":
        body = (f"def livslopskostnad(innkjop: float, per_aar: float, aar: int = 15) -> float:\n"
                f"    return innkjop + per_aar * aar\n\n\n"
                f"print(livslopskostnad({rng.randint(1000, 9000)}, {rng.randint(50, 900)}))")
    else:
        body = "\n".join(f"{rng.choice(OBJECTS)};{rng.randint(1, 999)};{rng.choice(PLURALS)}"
                         for _ in range(rng.randint(3, 6)))
    return f"```{kind}\n{body}\n```"


# --- items ---------------------------------------------------------------------------------------


@dataclass
class _Meta:
    type: str
    title: str
    slug: str
    summary: str
    personas: tuple[str, ...]
    phases: tuple[str, ...]
    access: str | None
    gated: bool
    date: dt.date
    updated: dt.date | None
    topics: tuple[str, ...]


def _item_rng(seed: int, index: int, part: str) -> random.Random:
    # String seeds are hashed with SHA-512 by `random`: stable across runs and platforms.
    return random.Random(f"hubgen-bench:{seed}:{index}:{part}")


def _title(rng: random.Random, type_: str, topic_label: str) -> str:
    c = rng.choice
    o, o2 = c(OBJECTS), c(OBJECTS)
    options: tuple[str, ...]
    if type_ == "checklist":
        options = (f"Sjekkliste: {topic_label} {c(ADVERBIALS)}",
                   f"Sjekkliste for {o} før {c(EVENTS)}",
                   f"{rng.randint(10, 40)} punkter om {topic_label} og {o}")
    elif type_ == "ebook":
        options = (f"Håndbok i {topic_label}: fra {o} til {o2}",
                   f"Guide til {topic_label} for {c(PLURALS)}",
                   f"E-bok: {topic_label} {c(ADVERBIALS)}",
                   f"Den store guiden til {o} og {topic_label}")
    else:
        options = (f"{_cap(topic_label)}: slik {c(VERBS)} dere {o}",
                   f"Hva {c(SUBJECTS)} bør vite om {topic_label}",
                   f"{rng.randint(3, 12)} ting å huske om {topic_label} {c(ADVERBIALS)}",
                   f"{_cap(topic_label)} og {o}: en praktisk gjennomgang",
                   f"Når {topic_label} møter {o}",
                   f"Derfor bør {c(SUBJECTS)} {c(INFINITIVES)} {o} tidlig")
    return _cap(c(options))


def _meta(seed: int, index: int) -> _Meta:
    rng = _item_rng(seed, index, "meta")
    roll = rng.random()
    type_ = "article" if roll < 0.6 else "ebook" if roll < 0.8 else "checklist"
    topics = rng.sample(TOPICS, rng.choice((1, 2, 2, 3, 3, 4)))
    title = _title(rng, type_, topics[0][1])
    if rng.random() < 0.05:
        personas: tuple[str, ...] = ("all",)
    else:
        personas = tuple(rng.sample(PERSONAS, rng.choice((1, 1, 2, 2, 3))))
    roll = rng.random()
    phase = "early" if roll < 0.38 else "mid" if roll < 0.72 else "late"
    phases: tuple[str, ...] = (phase,)
    if rng.random() < 0.1:  # a few items span two adjacent phases
        nxt = PHASES[min(PHASES.index(phase) + 1, 2)]
        phases = (phase, nxt) if nxt != phase else ("mid", "late")
    # hub.toml gates late-phase items by policy; ~15% of them are opened explicitly, and a few
    # earlier items are gated explicitly: ~30% gated overall.
    access: str | None = None
    if "late" in phases:
        if rng.random() < 0.15:
            access = "open"
    elif rng.random() < (0.07 if "mid" in phases else 0.02):
        access = "gated"
    gated = access == "gated" or (access is None and "late" in phases)
    date = DATE_END - dt.timedelta(days=rng.randrange(DATE_SPAN_DAYS))
    updated = None
    if rng.random() < 0.2:
        updated = min(DATE_END, date + dt.timedelta(days=rng.randint(10, 200)))
        if updated == date:
            updated = None
    summary = " ".join(sentence(rng) for _ in range(rng.randint(1, 2)))
    if len(summary) > 220:
        summary = sentence(rng)
    return _Meta(type_, title, slugify(title), summary, personas, phases, access, gated, date,
                 updated, tuple(tag for tag, _label in topics))


def _body(seed: int, index: int, type_: str, others: Sequence[tuple[str, str]]) -> str:
    """~1,000 words; `others` are (title, url) of the items it may link to."""
    rng = _item_rng(seed, index, "body")
    target = rng.randint(930, 1080)
    intro = [paragraph(rng), paragraph(rng)]
    sections: list[tuple[str, list[str]]] = []
    used: set[str] = set()
    for _ in range(rng.randint(3, 5)):
        title = heading(rng)
        while title in used:
            title = heading(rng)
        used.add(title)
        sections.append((title, [paragraph(rng) for _ in range(rng.randint(1, 3))]))
    # Structured blocks go into distinct sections where there are enough of them.
    extras: list[str] = [bullet_list(rng), table(rng), code_block(rng)]
    # Each block is followed by a paragraph, so two lists never touch (they would merge).
    for block in extras:
        sections[rng.randrange(len(sections))][1][1:1] = [block, paragraph(rng, 1, 3)]
    if type_ == "checklist":
        for _, blocks in sections:
            blocks[1:1] = [task_list(rng), paragraph(rng, 1, 3)]
    for title, url in rng.sample(list(others), min(len(others), rng.randint(2, 3))):
        link = rng.choice((
            f"Les også [{title}]({url}) {rng.choice(ADVERBIALS)}.",
            f"Se [{title}]({url}) for mer om {rng.choice(OBJECTS)}.",
            f"Vi har skrevet mer om dette i [{title}]({url}).",
        ))
        blocks = sections[rng.randrange(len(sections))][1]
        blocks.insert(rng.randrange(len(blocks) + 1), f"{paragraph(rng, 1, 2)} {link}")

    def words() -> int:
        text = " ".join(intro) + " ".join(" ".join(b) for _t, b in sections)
        return len(text.split())

    while words() < target:
        sections[rng.randrange(len(sections))][1].append(paragraph(rng, 2, 4))
    parts = [*intro]
    for title, blocks in sections:
        parts.append(f"## {title}")
        parts.extend(blocks)
    return "\n\n".join(parts) + "\n"


def make_items(n: int, seed: int = DEFAULT_SEED) -> list[Item]:
    metas = [_meta(seed, i) for i in range(n)]
    seen: dict[str, int] = {}
    titles_seen: dict[str, int] = {}
    for meta in metas:  # unique titles and slugs, in index order (stable for every N)
        count = titles_seen.get(meta.title, 0) + 1
        titles_seen[meta.title] = count
        if count > 1:
            meta.title = f"{meta.title} (del {count})"
            meta.slug = slugify(meta.title)
        while meta.slug in seen:
            seen[meta.slug] += 1
            meta.slug = f"{meta.slug}-{seen[meta.slug]}"
        seen.setdefault(meta.slug, 1)
    items = []
    for i, meta in enumerate(metas):
        rng = _item_rng(seed, i, "links")
        candidates = [j for j in (rng.randrange(n) for _ in range(6)) if j != i] if n > 1 else []
        others = [(metas[j].title, f"/{SECTIONS[metas[j].type]}/{metas[j].slug}/")
                  for j in dict.fromkeys(candidates)]
        items.append(Item(i, meta.type, meta.slug, meta.title, meta.summary, meta.personas,
                          meta.phases, meta.access, meta.gated, meta.date, meta.updated,
                          meta.topics, _body(seed, i, meta.type, others)))
    return items


PRIVACY_TITLE = "Personvern"
PRIVACY_SUMMARY = ("Hvordan Nordvarde Marine AS behandler opplysningene du gir oss når du laster ned "
                   "innhold eller melder deg på nyhetsbrevet.")
PRIVACY_BODY = """\
Denne erklæringen gjelder kunnskapsbanken og skjemaet du fyller ut for å få tilgang til lukket
innhold. Vi samler bare inn det vi trenger, og vi forteller deg hva vi gjør med det.

## Hva vi samler inn

- **e-postadressen** din og **rollen** du har valgt,
- **hvilket innhold** du ba om, og siden du sendte skjemaet fra,
- **hvilke samtykker** du krysset av for, med den nøyaktige teksten og tidspunktet.

## Slik trekker du tilbake samtykket

Klikk på avmeldingslenken nederst i hvert nyhetsbrev, eller send en e-post til
personvern@nordvarde.example. Det skal være like enkelt å trekke tilbake et samtykke som å gi det.

## Dine rettigheter

Du kan be om innsyn, retting og sletting. Du kan også klage til Datatilsynet.
"""

# --- writers -------------------------------------------------------------------------------------


def _q(text: str) -> str:
    """A double-quoted YAML (and TOML) string."""
    return json.dumps(text, ensure_ascii=False)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)


HUB_TOML = f"""\
# Generated by benchmarks/generate.py: the structure of the bundled example hub's hub.toml.

[site]
title = "{SITE_TITLE}"
description = "Artikler, e-bøker og sjekklister for deg som skal fornye broen om bord."
base_url = "{BASE_URL}"
language = "nb"
theme = "default"
timezone = "Europe/Oslo"
publisher = "Nordvarde Marine AS"
page_size = 12

[personas.cfo]
label = "Økonomidirektør"
description = "Eier budsjettet og spør hva fornyelsen koster over hele levetiden."

[personas.superintendent]
label = "Teknisk inspektør"
description = "Har ansvar for flåtens tekniske tilstand, klassekrav og vedlikehold."

[personas.master]
label = "Skipsfører"
description = "Skal bruke utstyret hver vakt og vil ha en bro som er rolig og trygg."

[personas.procurement]
label = "Innkjøpssjef"
description = "Sammenligner leverandører, forhandler avtaler og passer på kravspesifikasjonen."

[personas.yard]
label = "Prosjektleder verft"
description = "Planlegger installasjonen i nybygg og ombygginger."

[phases.early]
label = "Tidlig fase"
description = "Du kartlegger behovet og hva som finnes."

[phases.mid]
label = "Midtveis"
description = "Du sammenligner løsninger og leverandører."

[phases.late]
label = "Sen fase"
description = "Du spesifiserer, budsjetterer og bestemmer deg."

[gating]
default = "open"
by_phase = {{ late = "gated" }}
mode = "soft"
secret_env = "HUBGEN_GATE_SECRET"
teaser_paragraphs = 2

[forms]
backend = "local"
privacy_url = "/personvern/"

[[forms.consents]]
id = "newsletter"
text = "Ja takk, send meg Nordvardes nyhetsbrev om navigasjon og broutstyr (omtrent én gang i måneden)."
required = false

[[forms.consents]]
id = "contact"
text = "Nordvarde kan kontakte meg på e-post om et uforpliktende møte om vårt fartøy eller prosjekt."
required = false
"""


def _yaml_list(key: str, values: Sequence[str]) -> str:
    return f"{key}:\n" + "".join(f"  - {_q(v)}\n" for v in values)


def write_hub(root: Path, items: Sequence[Item]) -> None:
    _write(root / "hub.toml", HUB_TOML)
    for item in items:
        fm = [f"title: {_q(item.title)}\n", _yaml_list("personas", item.personas)]
        fm.append(f"phase: {item.phases[0]}\n" if len(item.phases) == 1
                  else _yaml_list("phase", item.phases))
        if item.access:
            fm.append(f"access: {item.access}\n")
        fm.append(f"summary: {_q(item.summary)}\n")
        fm.append(f"date: {item.date.isoformat()}\n")
        if item.updated:
            fm.append(f"updated: {item.updated.isoformat()}\n")
        fm.append(_yaml_list("topics", item.topics))
        _write(root / "content" / item.section / f"{item.slug}.md",
               "---\n" + "".join(fm) + "---\n\n" + item.body)
    _write(root / "content" / "pages" / "personvern.md",
           f"---\ntitle: {PRIVACY_TITLE}\nsummary: {_q(PRIVACY_SUMMARY)}\n---\n\n{PRIVACY_BODY}")


HUGO_CONFIG = f"""\
# Generated by benchmarks/generate.py. Hugo's defaults, except: the hub's taxonomies, the hub's
# page size, feeds capped at 50 entries like hubgen's, and no syntax highlighting (hubgen does none).
baseURL = "{BASE_URL}"
languageCode = "nb"
defaultContentLanguage = "nb"
title = "{SITE_TITLE}"
paginate = 12
rssLimit = 50
enableRobotsTXT = true
disableHugoGeneratorInject = true

[taxonomies]
  topic = "topics"
  persona = "personas"
  phase = "phases"

[markup.highlight]
  codeFences = false
"""

HUGO_HEAD = """\
<!DOCTYPE html>
<html lang="{{ site.LanguageCode }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ .Title }} | {{ site.Title }}</title>
<meta name="description" content="{{ .Summary | plainify | truncate 160 }}">
<link rel="canonical" href="{{ .Permalink }}">
</head>
<body>
<header><a href="{{ site.Home.RelPermalink }}">{{ site.Title }}</a>
<nav>{{ range site.Sections }}<a href="{{ .RelPermalink }}">{{ .Title }}</a> {{ end }}</nav>
</header>
"""

HUGO_SINGLE = HUGO_HEAD + """\
<main><article>
<h1>{{ .Title }}</h1>
<p><time datetime="{{ .Date.Format "2006-01-02" }}">{{ .Date.Format "2. January 2006" }}</time></p>
{{ with .Params.summary }}<p class="summary">{{ . }}</p>{{ end }}
{{ .Content }}
<aside>
{{ range $taxonomy := slice "topics" "personas" "phases" }}
<ul class="{{ $taxonomy }}">{{ range $.GetTerms $taxonomy }}
<li><a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a></li>{{ end }}</ul>
{{ end }}
</aside>
</article></main>
</body>
</html>
"""

HUGO_LIST = HUGO_HEAD + """\
<main>
<h1>{{ .Title }}</h1>
<ul class="cards">
{{ range .Paginator.Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a>
<time>{{ .Date.Format "2006-01-02" }}</time><p>{{ .Summary | plainify }}</p></li>
{{ end }}</ul>
{{ template "_internal/pagination.html" . }}
</main>
</body>
</html>
"""

HUGO_INDEX = HUGO_HEAD + """\
<main>
<h1>{{ site.Title }}</h1>
{{ range site.Sections }}
<section><h2><a href="{{ .RelPermalink }}">{{ .Title }}</a></h2>
<ul class="cards">{{ range first 12 .Pages }}
<li><a href="{{ .RelPermalink }}">{{ .Title }}</a> <p>{{ .Summary | plainify }}</p></li>{{ end }}</ul>
</section>
{{ end }}
</main>
</body>
</html>
"""


def write_hugo(root: Path, items: Sequence[Item]) -> None:
    _write(root / "hugo.toml", HUGO_CONFIG)
    layouts = root / "layouts"
    _write(layouts / "_default" / "single.html", HUGO_SINGLE)
    _write(layouts / "_default" / "list.html", HUGO_LIST)
    _write(layouts / "index.html", HUGO_INDEX)
    for section, title in SECTION_TITLES.items():
        _write(root / "content" / section / "_index.md", f"---\ntitle: {_q(title)}\n---\n")
    for item in items:
        fm = [f"title: {_q(item.title)}\n", f"date: {item.date.isoformat()}\n"]
        if item.updated:
            fm.append(f"lastmod: {item.updated.isoformat()}\n")
        fm.append(f"summary: {_q(item.summary)}\n")
        fm.append(_yaml_list("topics", item.topics))
        fm.append(_yaml_list("personas", PERSONAS if item.personas == ("all",) else item.personas))
        fm.append(_yaml_list("phases", item.phases))
        fm.append(f"access: {'gated' if item.gated else 'open'}\n")
        fm.append(f"itemtype: {item.type}\n")  # `type` is reserved by Hugo (layout lookup)
        _write(root / "content" / item.section / f"{item.slug}.md",
               "---\n" + "".join(fm) + "---\n\n" + item.body)
    _write(root / "content" / "personvern.md",
           f"---\ntitle: {PRIVACY_TITLE}\nsummary: {_q(PRIVACY_SUMMARY)}\n---\n\n{PRIVACY_BODY}")


PELICAN_CONF = f"""\
# Generated by benchmarks/generate.py. Pelican's defaults (theme "notmyidea", its feeds), except:
# URLs like the hub's, the hub's page size, feeds capped at 50 entries like hubgen's, no
# per-author/translation feeds, no content cache, and the Markdown extensions hubgen uses
# (no codehilite: hubgen does no syntax highlighting).
AUTHOR = "Nordvarde Marine AS"
SITENAME = "{SITE_TITLE}"
SITEURL = "{BASE_URL.rstrip('/')}"
PATH = "content"
TIMEZONE = "Europe/Oslo"
DEFAULT_LANG = "nb"
DEFAULT_PAGINATION = 12
ARTICLE_URL = "{{category}}/{{slug}}/"
ARTICLE_SAVE_AS = "{{category}}/{{slug}}/index.html"
PAGE_URL = "{{slug}}/"
PAGE_SAVE_AS = "{{slug}}/index.html"
TAG_URL = "topics/{{slug}}/"
TAG_SAVE_AS = "topics/{{slug}}/index.html"
FEED_MAX_ITEMS = 50
TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None
CACHE_CONTENT = False
LOAD_CONTENT_CACHE = False
MARKDOWN = {{
    "extension_configs": {{
        "markdown.extensions.extra": {{}},
        "markdown.extensions.sane_lists": {{}},
        "markdown.extensions.toc": {{}},
        "markdown.extensions.meta": {{}},
    }},
    "output_format": "html5",
}}
"""


def _pelican_meta(value: str) -> str:
    return " ".join(value.split())


def write_pelican(root: Path, items: Sequence[Item]) -> None:
    _write(root / "pelicanconf.py", PELICAN_CONF)
    for item in items:
        meta = [f"Title: {_pelican_meta(item.title)}", f"Date: {item.date.isoformat()}"]
        if item.updated:
            meta.append(f"Modified: {item.updated.isoformat()}")
        meta += [
            f"Category: {item.section}",
            f"Tags: {', '.join(item.topics)}",
            f"Slug: {item.slug}",
            f"Summary: {_pelican_meta(item.summary)}",
            f"Personas: {', '.join(item.personas)}",
            f"Phase: {', '.join(item.phases)}",
            f"Access: {'gated' if item.gated else 'open'}",
        ]
        _write(root / "content" / item.section / f"{item.slug}.md",
               "\n".join(meta) + "\n\n" + item.body)
    _write(root / "content" / "pages" / "personvern.md",
           f"Title: {PRIVACY_TITLE}\nSlug: personvern\nSummary: {PRIVACY_SUMMARY}\n\n{PRIVACY_BODY}")


def write_mkdocs(root: Path, items: Sequence[Item]) -> None:
    nav = ["nav:\n", "  - Hjem: index.md\n"]
    for section, title in SECTION_TITLES.items():
        nav.append(f"  - {_q(title)}:\n")
        for item in items:
            if item.section == section:
                nav.append(f"      - {_q(item.title)}: {section}/{item.slug}.md\n")
    nav.append(f"  - {PRIVACY_TITLE}: personvern.md\n")
    _write(root / "mkdocs.yml", (
        "# Generated by benchmarks/generate.py. MkDocs' defaults (theme `mkdocs`, the built-in\n"
        "# search plugin: hubgen builds a Pagefind index too), directory URLs, and the Markdown\n"
        "# extensions hubgen uses.\n"
        f"site_name: {_q(SITE_TITLE)}\n"
        f"site_url: {BASE_URL}\n"
        "docs_dir: docs\n"
        "site_dir: site\n"
        "use_directory_urls: true\n"
        "theme:\n  name: mkdocs\n"
        "markdown_extensions:\n  - extra\n  - sane_lists\n  - toc\n"
        + "".join(nav)))
    docs = root / "docs"
    _write(docs / "index.md", f"# {SITE_TITLE}\n\nArtikler, e-bøker og sjekklister for deg som skal "
           "fornye broen om bord.\n")
    for item in items:
        fm = f"---\ntitle: {_q(item.title)}\ndate: {item.date.isoformat()}\n---\n\n"
        _write(docs / item.section / f"{item.slug}.md", fm + f"# {item.title}\n\n" + item.body)
    _write(docs / "personvern.md", f"# {PRIVACY_TITLE}\n\n{PRIVACY_BODY}")


WRITERS: dict[str, Callable[[Path, Sequence[Item]], None]] = {
    "hub": write_hub, "hugo": write_hugo, "pelican": write_pelican, "mkdocs": write_mkdocs,
}


def generate(out: Path, n: int, seed: int = DEFAULT_SEED,
             layouts: Sequence[str] = LAYOUTS) -> dict[str, Path]:
    """Write the chosen layouts to out/<layout>/ (each replaced if present); return their roots."""
    items = make_items(n, seed)
    roots: dict[str, Path] = {}
    for layout in layouts:
        root = out / layout
        if root.exists():
            shutil.rmtree(root)
        WRITERS[layout](root, items)
        roots[layout] = root
    return roots


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=4000, help="number of items (default 4000)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default 42)")
    parser.add_argument("--out", type=Path, required=True, help="folder to write the layouts to")
    parser.add_argument("--layouts", default=",".join(LAYOUTS),
                        help=f"comma-separated subset of {','.join(LAYOUTS)}")
    args = parser.parse_args(argv)
    layouts = [x for x in args.layouts.split(",") if x]
    unknown = set(layouts) - set(LAYOUTS)
    if unknown:
        parser.error(f"unknown layout(s): {', '.join(sorted(unknown))}")
    roots = generate(args.out, args.items, args.seed, layouts)
    for layout, root in roots.items():
        print(f"{layout}: {root}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
