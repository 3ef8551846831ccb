"""Northwind Home: product descriptions in a brand template (the fine-tuning case).

Correct answers follow one layout but are not one f-string: the opening line, an optional second
sentence, each bullet's phrasing, the optional Size/Care lines (present only when the record has
them, in either order) and the spec line (no colour when the record has none) are composed from
several phrasings, seeded. The hosted model follows the ~500-token style guide about two times in
three. Its failures do not map one-to-one onto checks: markdown bullets break two checks, a
preamble or heading breaks only the layout check, merged bullets pass a regex search but fail a
count, and wrong facts (material or price not the record's) or an invented feature pass every check
and are caught only by the reviewers' labels (about half the calls are reviewed).
"""

from __future__ import annotations

import json
import random

from examples.scenarios.base import Content, PlantedSignature, Scenario
from examples.traffic import EU_BUSINESS_HOURS, WEEKDAYS_HEAVY, TrafficShape

BRAND = "Northwind"
SIGNOFF = f"Made to last by {BRAND}."

# category -> (tagline, nouns, materials, colours, features, price range EUR)
# category -> (tagline, {noun: plausible materials}, colours, features, price range EUR)
CATALOGUE: dict[str, tuple[str, dict[str, list[str]], list[str], list[str], tuple[int, int]]] = {
    "home": ("calm comfort for slow mornings",
             {"Throw Pillow": ["linen", "velvet", "cotton"], "Blanket": ["wool", "cotton", "linen"],
              "Floor Cushion": ["jute", "velvet", "cotton"], "Table Runner": ["linen", "jute"],
              "Curtain Panel": ["linen", "velvet", "cotton"], "Pouf": ["wool", "jute"]},
             ["sand", "oat", "sage", "charcoal", "terracotta", "ivory"],
             ["hidden zip", "machine washable", "feather-free fill", "hand-finished edges", "oeko-tex certified",
              "reversible design", "double-stitched seams", "pre-washed for softness"], (19, 149)),
    "kitchen": ("honest tools for everyday cooking",
                {"Chef Knife": ["stainless steel", "carbon steel"], "Cutting Board": ["walnut", "oak", "acacia"],
                 "Saucepan": ["stainless steel", "cast iron", "enamel"], "Mixing Bowl": ["stoneware", "enamel"],
                 "Tea Towel Set": ["linen", "cotton"], "Utensil Crock": ["stoneware", "oak"]},
                ["natural", "black", "cream", "forest green", "slate", "red clay"],
                ["dishwasher safe", "oven safe to 250 °C", "induction ready", "riveted handle", "food-safe oil finish",
                 "non-slip base", "lifetime edge guarantee", "stackable"], (12, 189)),
    "bath": ("soft rituals for quiet evenings",
             {"Bath Towel": ["organic cotton", "waffle cotton", "bamboo"], "Bath Mat": ["organic cotton", "teak"],
              "Robe": ["waffle cotton", "organic cotton"], "Soap Dish": ["ceramic", "teak"],
              "Shower Curtain": ["organic cotton", "linen"], "Hand Towel Pair": ["bamboo", "organic cotton"]},
             ["white", "mist", "dusty rose", "navy", "stone"],
             ["quick drying", "600 gsm weight", "hanging loop", "water-resistant", "tumble dry low",
              "mould-resistant", "generous size", "fair-trade made"], (9, 119)),
    "outdoor": ("built for weekends outside",
                {"Picnic Blanket": ["recycled polyester", "wool"], "Folding Chair": ["acacia", "powder-coated steel"],
                 "Lantern": ["powder-coated steel", "rattan"], "Planter": ["terracotta", "powder-coated steel"],
                 "Hammock": ["canvas", "recycled polyester"], "Cooler Bag": ["canvas", "recycled polyester"]},
                ["olive", "rust", "sand", "black", "sky blue"],
                ["weatherproof", "folds flat", "uv-resistant", "carry strap included", "rust-proof frame",
                 "holds 120 kg", "waterproof backing", "drainage hole"], (15, 229)),
    "office": ("quiet order for focused days",
               {"Desk Organiser": ["oak", "felt", "birch plywood"], "Notebook": ["recycled paper"],
                "Monitor Stand": ["oak", "aluminium", "birch plywood"], "Pen Cup": ["felt", "aluminium", "oak"],
                "Desk Lamp": ["aluminium", "oak"], "File Box": ["felt", "recycled paper"]},
               ["natural", "graphite", "white", "moss", "ochre"],
               ["cable cut-out", "dimmable warm light", "lay-flat binding", "non-scratch feet", "fsc certified",
                "tool-free assembly", "magnetic closure", "holds a 27-inch screen"], (8, 159)),
    "kids": ("gentle design for growing minds",
             {"Play Mat": ["organic cotton", "felt"], "Toy Basket": ["rattan", "felt"],
              "Night Light": ["silicone", "beech"], "Stacking Blocks": ["beech", "silicone"],
              "Bedding Set": ["organic cotton"], "Bookshelf": ["beech", "birch plywood"]},
             ["peach", "mint", "lavender", "sunflower", "cloud grey"],
             ["non-toxic paints", "rounded corners", "machine washable", "en 71 tested", "soft-touch finish",
              "wall anchor included", "easy-clean surface", "lightweight"], (14, 179)),
    "pet": ("simple comfort for loyal friends",
            {"Dog Bed": ["recycled polyester", "cotton canvas"], "Cat Scratcher": ["sisal"],
             "Food Bowl": ["stoneware", "stainless steel"], "Leash": ["leather", "recycled polyester"],
             "Travel Crate Mat": ["cotton canvas", "recycled polyester"], "Pet Blanket": ["wool", "cotton canvas"]},
            ["tan", "charcoal", "forest green", "brick", "oat"],
            ["removable cover", "non-slip base", "chew-resistant", "orthopaedic foam", "dishwasher safe",
             "reflective stitching", "scratch-resistant", "washable at 40 °C"], (11, 139)),
    "travel": ("light companions for long journeys",
               {"Weekender Bag": ["waxed canvas", "vegetable-tanned leather"], "Packing Cubes": ["recycled nylon"],
                "Toiletry Pouch": ["waxed canvas", "recycled nylon", "cork"], "Neck Pillow": ["memory foam"],
                "Passport Wallet": ["vegetable-tanned leather", "cork"], "Backpack": ["recycled nylon", "waxed canvas"]},
               ["black", "tobacco", "navy", "olive", "sand"],
               ["water-repellent", "padded laptop sleeve", "ykk zips", "fits under the seat", "rfid blocking",
                "compression straps", "luggage pass-through", "weighs 400 g"], (16, 249)),
}
PLACE_NAMES = ["Oslo", "Fjord", "Harbor", "Juniper", "Alder", "Cove", "Linden", "Marlow", "Tide", "Brae", "Aster",
               "Holm", "Vale", "Skye", "Wren", "Elm"]
HYPE = ["the must-have {noun} you'll absolutely love!", "an amazing upgrade for every home!",
        "simply stunning, a true game-changer!", "the best-ever {noun}, now at an unbeatable price!",
        "luxury you can feel, at a price you'll love!"]
OPENINGS = ["{tagline}", "{tagline}", "{material} in {colour}, for {purpose}", "{purpose}, in {material}",
            "a {colour} piece for {purpose}"]
PURPOSE = {"home": "slow mornings", "kitchen": "everyday cooking", "bath": "quiet evenings", "outdoor": "weekends outside",
           "office": "focused days", "kids": "growing minds", "pet": "loyal friends", "travel": "long journeys"}
SECOND = ["Cut from {material} and finished in {colour}.", "{Material} gives it a quiet, lasting character.",
          "Chosen for everyday use, in a {colour} that suits most rooms.", "Simple to live with, year after year."]
BULLET = ["{f}.", "{f}, for everyday use.", "{f} as standard.", "{f}, made to last.", "{f}, a quiet detail that matters."]
SIZES = {"home": ["45 × 45 cm", "130 × 170 cm", "40 × 150 cm"], "kitchen": ["20 cm blade", "40 × 28 cm", "2 litres"],
         "bath": ["70 × 140 cm", "50 × 80 cm", "one size"], "outdoor": ["140 × 180 cm", "seat height 45 cm"],
         "office": ["30 × 12 cm", "A5, 192 pages", "54 × 24 cm"], "kids": ["120 × 90 cm", "set of 12"],
         "pet": ["70 × 55 cm", "1.8 m", "0.8 litres"], "travel": ["45 litres", "26 × 18 cm", "set of 3"]}
CARE = ["wash at 30 °C", "wipe clean with a damp cloth", "hand wash only", "oil twice a year", "air dry flat"]

STYLE_GUIDE = f"""You write product descriptions for {BRAND}, a Scandinavian-inspired home goods brand. Every description appears on the product page and in partner marketplaces.

VOICE
- Calm, warm and precise. Short sentences. We describe, we never shout.
- British spelling (colour, organise, grey). Vary the wording; do not copy the example.

BANNED
- No exclamation marks, anywhere.
- Never use: amazing, must-have, game-changer, stunning, revolutionary, best-ever, unbeatable, luxury, perfect.
- No emojis, no markdown, no headings, no bold, no hashtags, nothing before the first line.
- Do not invent features, dimensions, certifications or prices that are not in the product record.

LAYOUT (one item per line, nothing before or after)
1. The product name, a space, an em dash, a space, then a short calm line (the category line below or your own words), ending with a full stop.
2. Optional: one more calm sentence about the material or colour.
3. Exactly three bullets, one per feature in the order given. Each starts with "• " (the bullet character, not a hyphen or asterisk), begins with a capital letter and ends with a full stop.
4. Only if the record has them: "Size: <dimensions>" and "Care: <care>", either order.
5. Material: <material> | Colour: <colour> | €<price> — the record's values verbatim, whole euros, in this order; leave out "Colour" if the record has none.
6. {SIGNOFF}

CATEGORY LINES
""" + "\n".join(f"- {cat}: {vals[0]}" for cat, vals in CATALOGUE.items()) + """

EXAMPLE
Product: {"name": "Juniper Linen Throw Pillow", "category": "home", "material": "linen", "color": "sand", "price_eur": 39, "features": ["hidden zip", "machine washable", "feather-free fill"], "care": "wash at 30 °C"}
Juniper Linen Throw Pillow — calm comfort for slow mornings.
• Hidden zip.
• Machine washable, for everyday use.
• Feather-free fill.
Care: wash at 30 °C
Material: linen | Colour: sand | €39
""" + SIGNOFF + """

Reply with the description only."""


def _cap(text: str) -> str:
    return text[0].upper() + text[1:]


def random_product(rng: random.Random) -> dict:
    """A product record as the catalogue system sends it (~60–90 prompt tokens; optional fields vary)."""
    category = rng.choice(list(CATALOGUE))
    _, nouns, colours, features, (lo, hi) = CATALOGUE[category]
    noun = rng.choice(list(nouns))
    material = rng.choice(nouns[noun])
    product = {
        "sku": f"NW-{rng.randrange(10000, 99999)}",
        "name": f"{rng.choice(PLACE_NAMES)} {material.split()[-1].title()} {noun}",
        "category": category,
        "material": material,
        "color": rng.choice(colours),
        "price_eur": rng.randrange(lo, hi + 1),
        "features": rng.sample(features, 3),
    }
    if rng.random() < 0.08:
        del product["color"]
    if rng.random() < 0.4:
        product["dimensions"] = rng.choice(SIZES[category])
    if rng.random() < 0.3:
        product["care"] = rng.choice(CARE)
    return product


def spec_line(p: dict) -> str:
    colour = f" | Colour: {p['color']}" if p.get("color") else ""
    return f"Material: {p['material']}{colour} | €{p['price_eur']}"


def render(product: dict, rng: random.Random | None = None) -> str:
    """A correct description for a product record: the layout the guide asks for, phrased one of many ways.

    Without `rng` the plainest phrasing (category line, bullets as given, no second sentence)."""
    p = product
    tagline = CATALOGUE[p["category"]][0]
    colour = p.get("color", "natural")
    words = {"tagline": tagline, "material": p["material"], "Material": _cap(p["material"]), "colour": colour,
             "purpose": PURPOSE[p["category"]]}
    opening = rng.choice(OPENINGS if p.get("color") else OPENINGS[:2] + OPENINGS[3:4]) if rng else "{tagline}"
    lines = [f"{p['name']} — {opening.format(**words)}."]
    if rng and rng.random() < 0.35:
        lines.append(rng.choice(SECOND if p.get("color") else SECOND[1:2] + SECOND[3:]).format(**words))
    lines += ["• " + (rng.choice(BULLET) if rng else "{f}.").format(f=_cap(f)) for f in p["features"]]
    extra = [f"Size: {p['dimensions']}"] if p.get("dimensions") else []
    extra += [f"Care: {p['care']}"] if p.get("care") else []
    if rng and len(extra) == 2 and rng.random() < 0.5:
        extra.reverse()
    lines += extra
    lines.append(spec_line(p))
    lines.append(SIGNOFF)
    return "\n".join(lines)


def _bullet_rows(lines: list[str]) -> list[int]:
    return [i for i, ln in enumerate(lines) if ln.startswith("• ")]


def _drift(key: str, product: dict, good: str, rng: random.Random) -> str:
    lines = good.split("\n")
    p = product
    if key == "markdown-bullets":
        mark = rng.choice(["- ", "* "])
        return "\n".join(mark + ln[2:] if ln.startswith("• ") else ln for ln in lines)
    if key == "missing-signoff":
        return "\n".join(lines[:-1])
    if key == "hype-words":
        noun = p["name"].split()[-1].lower()
        lines[0] = f"{p['name']} — {rng.choice(HYPE).format(noun=noun)}"
        return "\n".join(lines)
    if key == "spec-line":
        i = lines.index(spec_line(p))
        lines[i] = rng.choice([
            f"Colour: {p.get('color', 'natural')} | Material: {p['material']} | €{p['price_eur']}",
            f"Price: €{p['price_eur']}.00 · Material: {p['material']} · Colour: {p.get('color', 'natural')}",
            f"Made from {p['material']} in {p.get('color', 'natural')}, €{p['price_eur']}.",
        ])
        return "\n".join(lines)
    if key == "merged-bullets":  # one or two bullets carrying all three features
        rows = _bullet_rows(lines)
        f = [_cap(x) if i == 0 else x for i, x in enumerate(p["features"])]
        merged = (["• " + f"{f[0]}, {f[1]} and {f[2]}."] if rng.random() < 0.5
                  else ["• " + f"{f[0]} and {f[1]}.", "• " + _cap(f[2]) + "."])
        return "\n".join(lines[:rows[0]] + merged + lines[rows[-1] + 1:])
    if key == "preamble":
        return rng.choice([f"Here is the product description for {p['name']}:\n\n",
                           f"**{p['name']}**\n", "Sure! Here's the description:\n"]) + good
    if key == "wrong-fact":  # material or price not the record's: every check still passes
        _, nouns, _, _, (lo, hi) = CATALOGUE[p["category"]]
        wrong = dict(p)
        others = sorted({m for ms in nouns.values() for m in ms} - {p["material"]})
        if rng.random() < 0.5 and others:
            wrong["material"] = rng.choice(others)
        else:
            wrong["price_eur"] = p["price_eur"] + rng.choice([-10, -5, 5, 10, 20]) if p["price_eur"] > 25 \
                else p["price_eur"] + 10
        return good.replace(spec_line(p), spec_line(wrong))
    if key == "invented-feature":  # a feature the record does not have replaces one that it does
        _, _, _, features, _ = CATALOGUE[p["category"]]
        extra = rng.choice([x for x in features if x not in p["features"]])
        rows = _bullet_rows(lines)
        lines[rows[rng.randrange(3)]] = f"• {_cap(extra)}."
        return "\n".join(lines)
    raise KeyError(key)


SIGNATURES = (
    PlantedSignature("markdown-bullets", "format", 0.07,
                     "Features written as markdown '-'/'*' bullets instead of '• '.", "check:bullets + check:layout"),
    PlantedSignature("missing-signoff", "format", 0.06,
                     "The closing 'Made to last by Northwind.' line is missing.", "check:signoff"),
    PlantedSignature("hype-words", "style", 0.05,
                     "Opening line replaced by hype with banned words and an exclamation mark.", "check:no-hype"),
    PlantedSignature("spec-line", "format", 0.04,
                     "Spec line reordered or reworded (not 'Material: … | Colour: … | €N').", "check:spec-line"),
    PlantedSignature("merged-bullets", "format", 0.04,
                     "The three features squeezed into one or two bullets (a regex search still finds a bullet).",
                     "check:bullets (a count)"),
    PlantedSignature("preamble", "format", 0.03,
                     "A chatty preamble or a bold heading before the first line.", "check:layout"),
    PlantedSignature("wrong-fact", "other", 0.05,
                     "Material or price in the spec line is not the product record's.", "labels only",
                     kind="scattered"),
    PlantedSignature("invented-feature", "other", 0.03,
                     "A bullet names a feature the product record does not have.", "labels only", kind="scattered"),
)


def make_content(rng: random.Random) -> Content:
    product = random_product(rng)
    good = render(product, rng)
    user = "Product: " + json.dumps(product, ensure_ascii=False)
    sig = SCENARIO.pick(rng)
    meta = {"feature": "product-description", "merchant_id": f"m_{rng.randrange(1, 60):04d}",
            "category": product["category"]}
    if sig is None:
        return Content(user=user, output=good, metadata=meta)
    return Content(user=user, output=_drift(sig.key, product, good, rng), signature=sig.key,
                   category=sig.category, note=sig.description, expected=good, metadata=meta)


ADVISE_TOML = """# Northwind product descriptions: the brand's hard rules as automatic checks.
# See examples/README.md. Generated by examples/generate.py; edit the generator, not this file.
# Reviewers label about half the calls (labels.jsonl): only they catch wrong facts and invented features.

[traffic]
sample_rate = {sample_rate}          # the committed logs hold a {pct}% sample of ~{per_day:,} requests/day

[assumptions]
# What one off-brand description costs Northwind: an editor spends ~5 s spotting and fixing it (≈ USD 15/h).
failure_cost = 0.02

[[failures.checks]]
name = "bullets"
category = "format"
count_pattern = '(?m)^• [A-Z0-9][^\\n]*\\.$'
count = 3
description = "Exactly three • bullets, each starting with a capital letter or digit and ending in a full stop."

[[failures.checks]]
name = "layout"
category = "format"
each_line_match = '[^•*#\\-\\s][^\\n]* — [^\\n]+\\.|[A-Z][^•:!\\n]*\\.|• [^\\n]+|(?:Size|Care|Material): [^\\n]+'
description = "Every line is one the layout allows: opening, one sentence, bullets, Size/Care/spec, sign-off."

[[failures.checks]]
name = "signoff"
category = "format"
must_match = '\\nMade to last by Northwind\\.$'
description = "The description ends with the sign-off line 'Made to last by Northwind.'"

[[failures.checks]]
name = "no-hype"
category = "style"
must_not_match = '(?i)!|\\b(amazing|must-have|game-changer|stunning|revolutionary|best-ever|unbeatable|luxury|perfect)\\b'
description = "No exclamation marks and none of the banned hype words."

[[failures.checks]]
name = "spec-line"
category = "format"
count_pattern = '(?m)^Material: [^|\\n]+(?: \\| Colour: [^|\\n]+)? \\| €\\d+$'
count = 1
description = "One spec line 'Material: <material> | Colour: <colour> | €<price>' (Colour only when known)."

[[failures.checks]]
name = "length"
category = "format"
max_chars = 700
description = "A description fits the product card (700 characters)."
"""
SCENARIO = Scenario(
    name="ecommerce",
    title="Northwind Home — product descriptions in a strict brand template",
    summary=("An e-commerce product-description service: each request sends a ~500-token brand style guide "
             "(voice, banned words, a layout with optional lines, an inline example) plus a product record with "
             "optional fields to gpt-4o. About 3,000 requests/day on weekdays-heavy EU business hours. Correct "
             "answers vary in wording and structure; about a third fail: recurring format/style drift (six "
             "signatures that overlap the checks unevenly) plus wrong facts and invented features that only the "
             "reviewers' labels (about half the calls) catch."),
    expected_conclusion=("Fine-tune (LoRA): failures are mostly consistent and structural (format/style drift from "
                         "six recurring signatures, ~29%; a few label-only fact errors), the static style guide is "
                         "most of every prompt, and the "
                         "volume pays back a ~€200 LoRA run within weeks (the reference case: consistency 70%→94% "
                         "assumed, shorter prompts)."),
    provider="openai",
    model="gpt-4o-2024-08-06",
    system_prompt=STYLE_GUIDE,
    make_content=make_content,
    traffic=TrafficShape(hourly=EU_BUSINESS_HOURS, weekly=WEEKDAYS_HEAVY),
    days=14,
    per_day=3000.0,
    sample_rate=0.05,
    default_format="openai_chat",
    max_tokens=200,
    temperature=0.7,
    signatures=SIGNATURES,
    labelled=True,
    label_share=0.5,
    ms_per_output_token=13.0,
    metadata={"app": "catalogue-writer", "env": "prod"},
    advise_toml=ADVISE_TOML,
)
