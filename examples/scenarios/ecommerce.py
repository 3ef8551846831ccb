"""Northwind Home: product descriptions in a strict brand template (the fine-tuning case).

The task is deliberately learnable by a 135M model: every correct answer is a pure function
of the product record (tagline fixed per category, features copied as capitalised bullets,
a fixed spec line and sign-off). The hosted model follows the ~500-token style guide about
70% of the time; the rest is recurring format drift from four signatures.
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
        "simply stunning, a true game-changer!", "the best-ever {noun}, now at an unbeatable price!"]

STYLE_GUIDE = f"""You write product descriptions for {BRAND}, a Scandinavian-inspired home goods brand. Every description appears on the product page, in the app and in partner marketplaces, so it must follow this guide exactly.

VOICE
- Calm, warm and precise. Short sentences. We describe, we never shout.
- British spelling (colour, organise, grey).

BANNED
- No exclamation marks, anywhere.
- Never use: amazing, must-have, game-changer, stunning, revolutionary, best-ever, unbeatable, luxury, perfect.
- No emojis, no markdown, no headings, no bold, no hashtags.
- Do not invent features, dimensions, certifications or prices that are not in the product record.

TEMPLATE (six lines, nothing before or after)
Line 1: the product name, a space, an em dash, a space, then the category tagline, ending with a full stop.
Lines 2-4: exactly three bullets, one per feature in the order given. Each starts with "• " (the bullet character, not a hyphen or asterisk), begins with a capital letter and ends with a full stop.
Line 5: Material: <material> | Colour: <colour> | €<price> — use the record's values verbatim, whole euros, fields in this order.
Line 6: {SIGNOFF}

CATEGORY TAGLINES (use verbatim)
""" + "\n".join(f"- {cat}: {vals[0]}" for cat, vals in CATALOGUE.items()) + """

EXAMPLE
Product: {"name": "Juniper Linen Throw Pillow", "category": "home", "material": "linen", "color": "sand", "price_eur": 39, "features": ["hidden zip", "machine washable", "feather-free fill"]}
Juniper Linen Throw Pillow — calm comfort for slow mornings.
• Hidden zip.
• Machine washable.
• Feather-free fill.
Material: linen | Colour: sand | €39
""" + SIGNOFF + """

If a field is missing from the record, leave that part out rather than guessing. Reply with the description only."""


def _cap(feature: str) -> str:
    return feature[0].upper() + feature[1:]


def random_product(rng: random.Random) -> dict:
    """A product record as the catalogue system sends it (short: ~60 prompt tokens)."""
    category = rng.choice(list(CATALOGUE))
    _, nouns, colours, features, (lo, hi) = CATALOGUE[category]
    noun = rng.choice(list(nouns))
    material = rng.choice(nouns[noun])
    name = f"{rng.choice(PLACE_NAMES)} {material.split()[-1].title()} {noun}"
    return {
        "sku": f"NW-{rng.randrange(10000, 99999)}",
        "name": name,
        "category": category,
        "material": material,
        "color": rng.choice(colours),
        "price_eur": rng.randrange(lo, hi + 1),
        "features": rng.sample(features, 3),
    }


def render(product: dict) -> str:
    """The one correct description for a product record (what the style guide asks for)."""
    tagline = CATALOGUE[product["category"]][0]
    lines = [f"{product['name']} — {tagline}."]
    lines += [f"• {_cap(f)}." for f in product["features"]]
    lines.append(f"Material: {product['material']} | Colour: {product['color']} | €{product['price_eur']}")
    lines.append(SIGNOFF)
    return "\n".join(lines)


def _drift(key: str, product: dict, good: str, rng: random.Random) -> str:
    lines = good.split("\n")
    if key == "markdown-bullets":
        mark = rng.choice(["- ", "* "])
        return "\n".join(mark + ln[2:] if ln.startswith("• ") else ln for ln in lines)
    if key == "missing-signoff":
        return "\n".join(lines[:-1])
    if key == "hype-words":
        noun = product["name"].split()[-1].lower()
        lines[0] = f"{product['name']} — {rng.choice(HYPE).format(noun=noun)}"
        return "\n".join(lines)
    if key == "spec-line":
        p = product
        lines[4] = rng.choice([
            f"Colour: {p['color']} | Material: {p['material']} | €{p['price_eur']}",
            f"Price: €{p['price_eur']}.00 · Material: {p['material']} · Colour: {p['color']}",
            f"Made from {p['material']} in {p['color']}, €{p['price_eur']}.",
        ])
        return "\n".join(lines)
    raise KeyError(key)


SIGNATURES = (
    PlantedSignature("markdown-bullets", "format", 0.10,
                     "Features written as markdown '-'/'*' bullets instead of '• '.", "check:bullets"),
    PlantedSignature("missing-signoff", "format", 0.08,
                     "The closing 'Made to last by Northwind.' line is missing.", "check:signoff"),
    PlantedSignature("hype-words", "style", 0.07,
                     "Tagline replaced by hype with banned words and an exclamation mark.", "check:no-hype"),
    PlantedSignature("spec-line", "format", 0.05,
                     "Spec line reordered or reworded (not 'Material: … | Colour: … | €N').", "check:spec-line"),
)


def make_content(rng: random.Random) -> Content:
    product = random_product(rng)
    good = render(product)
    user = "Product: " + json.dumps({k: v for k, v in product.items()}, ensure_ascii=False)
    sig = SCENARIO.pick(rng)
    meta = {"feature": "product-description", "merchant_id": f"m_{rng.randrange(1, 60):04d}",
            "category": product["category"]}
    if sig is None:
        return Content(user=user, output=good, metadata=meta)
    return Content(user=user, output=_drift(sig.key, product, good, rng), signature=sig.key,
                   category=sig.category, note=sig.description, expected=good, metadata=meta)


ADVISE_TOML = """# Northwind product descriptions: the brand's hard rules as automatic checks.
# See examples/README.md. Generated by examples/generate.py; edit the generator, not this file.

[traffic]
sample_rate = {sample_rate}          # the committed logs hold a {pct}% sample of ~{per_day:,} requests/day

[assumptions]
# What one off-brand description costs Northwind: an editor spends ~5 s spotting and fixing it (≈ USD 15/h).
failure_cost = 0.02

[[failures.checks]]
name = "bullets"
category = "format"
must_match = '(?m)^• .+\\.$'
description = "Features are written as three '• ' bullets ending in a full stop."

[[failures.checks]]
name = "signoff"
category = "format"
must_match = '(?m)^Made to last by Northwind\\.$'
description = "The description ends with the sign-off line 'Made to last by Northwind.'"

[[failures.checks]]
name = "no-hype"
category = "style"
must_not_match = '(?i)!|\\b(amazing|must-have|game-changer|stunning|revolutionary|best-ever|unbeatable|luxury)\\b'
description = "No exclamation marks and none of the banned hype words."

[[failures.checks]]
name = "spec-line"
category = "format"
must_match = '(?m)^Material: [^|\\n]+ \\| Colour: [^|\\n]+ \\| €\\d+$'
description = "Spec line reads 'Material: <material> | Colour: <colour> | €<price>'."

[[failures.checks]]
name = "length"
category = "format"
max_chars = 600
description = "A description fits the product card (600 characters)."
"""

SCENARIO = Scenario(
    name="ecommerce",
    title="Northwind Home — product descriptions in a strict brand template",
    summary=("An e-commerce product-description service: each request sends a ~500-token brand style guide "
             "(voice, banned words, a six-line template, two inline examples) plus a short product record to "
             "gpt-4o. About 3,000 requests/day on weekdays-heavy EU business hours. The hosted model follows the "
             "template ~70% of the time; the rest is recurring drift from four signatures."),
    expected_conclusion=("Fine-tune (LoRA): failures are consistent and structural (format/style drift from four "
                         "recurring signatures, ~30%), the static style guide is most of every prompt, and the "
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
    ms_per_output_token=13.0,
    metadata={"app": "catalogue-writer", "env": "prod"},
    advise_toml=ADVISE_TOML,
)
