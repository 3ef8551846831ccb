"""Supplier-line extraction to JSON: the failure plants and the low-volume example.

A marketplace turns suppliers' free-text catalogue lines into JSON (``response_format``
json_object). Failure modes are planted at exact rates: recurring structural ones (code
fences → invalid JSON, a missing required field, price as a string) and scattered one-off
value errors that only a reviewer's label reveals, each with its own note.
"""

from __future__ import annotations

import json
import random

from examples.scenarios.base import Content, PlantedSignature, Scenario
from examples.traffic import EU_BUSINESS_HOURS, WEEKDAYS_HEAVY, TrafficShape

SUPPLIERS = ("ACME", "NORD", "KALLA", "VERDE", "BRIO", "TASK", "OKAPI", "LUMEN")
ITEMS = (
    ("Trailrunner GTX shoe", ("40", "41", "42", "43", "44", "45")),
    ("Merino crew sweater", ("S", "M", "L", "XL")),
    ("Canvas tote bag", ("one size",)),
    ("Waxed rain jacket", ("S", "M", "L", "XL")),
    ("Cotton chino trousers", ("30/32", "32/32", "34/32", "36/34")),
    ("Leather belt", ("85", "90", "95", "100")),
    ("Wool beanie", ("one size",)),
    ("Linen shirt", ("S", "M", "L")),
    ("Down vest", ("S", "M", "L", "XL")),
    ("Running socks 3-pack", ("39-42", "43-46")),
)
COLOURS = ("slate grey", "navy", "olive", "black", "sand", "rust", "bottle green", "off-white")
REQUIRED = ("sku", "name", "colour", "size", "price_eur", "in_stock")

SYSTEM_PROMPT = """You convert supplier catalogue lines into JSON for the Parcel & Pine marketplace.

Return one JSON object and nothing else (no code fences, no comments, no prose) with exactly these keys:
- "sku": the supplier's article code exactly as written (e.g. "ACME-4471").
- "name": the product name without size, colour or price.
- "colour": lower-case colour as written by the supplier.
- "size": the size as a string ("44", "M", "one size").
- "price_eur": the unit price in euros as a number with up to two decimals (129.9, not "129.90 EUR").
- "in_stock": true if the supplier reports one or more pieces in stock, otherwise false.

Supplier lines use different orders and separators; read them carefully. Never invent values: if a value is missing, use null.

Example input: NORD-2210 | Merino crew sweater, size M, colour: navy — 89.00 EUR — in stock (4 pcs)
Example output: {"sku": "NORD-2210", "name": "Merino crew sweater", "colour": "navy", "size": "M", "price_eur": 89.0, "in_stock": true}"""


def _line(rng: random.Random) -> tuple[str, dict]:
    sku = f"{rng.choice(SUPPLIERS)}-{rng.randrange(1000, 9999)}"
    name, sizes = rng.choice(ITEMS)
    size = rng.choice(sizes)
    colour = rng.choice(COLOURS)
    price = round(rng.randrange(900, 25000) / 100 * 2) / 2  # whole or half euros
    stock = rng.choice([0, 0, 2, 4, 7, 12, 30, 120])
    stock_txt = f"in stock ({stock} pcs)" if stock else "out of stock"
    size_txt = f"size {size}" if size != "one size" else "one size"
    layout = rng.randrange(3)
    if layout == 0:
        line = f"{sku} | {name}, {size_txt}, colour: {colour} — {price:.2f} EUR — {stock_txt}"
    elif layout == 1:
        line = f"{name} ({colour}, {size_txt}) art. {sku}; price {price:.2f} EUR; {stock_txt}"
    else:
        line = f"[{sku}] {name} / {colour} / {size_txt} / EUR {price:.2f} / {stock_txt}"
    record = {"sku": sku, "name": name, "colour": colour, "size": size, "price_eur": price, "in_stock": stock > 0}
    return line, record


def _dump(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False)


# One-off value errors: each note names the product and values, so no two notes are the same.
def _one_off(rng: random.Random, rec: dict) -> tuple[dict, str]:
    bad = dict(rec)
    kind = rng.randrange(8)
    if kind == 0:
        other = rng.choice([c for c in COLOURS if c != rec["colour"]])
        bad["colour"] = other
        note = f"{rec['sku']}: colour should be '{rec['colour']}', model wrote '{other}'."
    elif kind == 1:
        digits = f"{rec['price_eur']:.2f}"
        swapped = digits[1] + digits[0] + digits[2:] if len(digits) > 4 else digits + "0"
        bad["price_eur"] = float(swapped)
        note = f"Price digits transposed for {rec['name'].lower()} {rec['sku']} ({rec['price_eur']} → {swapped})."
    elif kind == 2:
        bad["in_stock"] = not rec["in_stock"]
        note = f"Stock flag inverted on {rec['sku']}; supplier line says {'in' if rec['in_stock'] else 'out of'} stock."
    elif kind == 3:
        bad["name"] = rec["name"] + f" {rec['colour']}"
        note = f"Name of {rec['sku']} includes the colour '{rec['colour']}'."
    elif kind == 4:
        bad["size"] = "L" if rec["size"] != "L" else "M"
        note = f"Size for {rec['name']} read as {bad['size']} instead of {rec['size']}."
    elif kind == 5:
        bad["sku"] = rec["sku"].replace("-", "")
        note = f"SKU dash dropped: {bad['sku']} vs {rec['sku']}."
    elif kind == 6:
        bad["price_eur"] = round(rec["price_eur"] * 1.23, 2)
        note = f"Added 23% VAT to the {rec['name'].lower()} price ({rec['price_eur']} → {bad['price_eur']})."
    else:
        bad["name"] = rec["name"].split()[0]
        note = f"Truncated product name '{bad['name']}' for {rec['sku']}."
    return bad, note


def _structural(key: str, rec: dict, rng: random.Random) -> str:
    if key == "code-fence":
        return "```json\n" + json.dumps(rec, ensure_ascii=False, indent=2) + "\n```"
    if key == "missing-sku":
        return _dump({k: v for k, v in rec.items() if k != "sku"})
    if key == "price-string":
        bad = dict(rec)
        bad["price_eur"] = f"{rec['price_eur']:.2f} EUR"
        return _dump(bad)
    raise KeyError(key)


NOTES = {
    "code-fence": "Output wrapped in a ```json code fence, not parseable as JSON.",
    "missing-sku": "Required field 'sku' missing from the JSON.",
    "price-string": "price_eur is a string with the currency instead of a number.",
}


def make_extraction_content(rng: random.Random, sc: Scenario) -> Content:
    line, rec = _line(rng)
    good = _dump(rec)
    sig = sc.pick(rng)
    meta = {"feature": "catalogue-import", "supplier": rec["sku"].split("-")[0]}
    user = f"Supplier line: {line}"
    if sig is None:
        return Content(user=user, output=good, metadata=meta)
    if sig.kind == "scattered":
        bad, note = _one_off(rng, rec)
        return Content(user=user, output=_dump(bad), signature=sig.key, category=sig.category, note=note,
                       expected=good, metadata=meta)
    return Content(user=user, output=_structural(sig.key, rec, rng), signature=sig.key, category=sig.category,
                   note=NOTES[sig.key], expected=good, metadata=meta)


STRUCTURAL = (
    PlantedSignature("code-fence", "format", 0.07, NOTES["code-fence"], "auto:invalid-json"),
    PlantedSignature("missing-sku", "schema", 0.06, NOTES["missing-sku"], "check:required-fields"),
    PlantedSignature("price-string", "schema", 0.05, NOTES["price-string"], "check:price-number"),
)


def _scattered(share: float) -> PlantedSignature:
    return PlantedSignature("one-off-value-error", "other", share,
                            "One-off wrong values (colour, price, stock, size, name), each different.",
                            "labels:other", kind="scattered")


ADVISE_TOML = """# Parcel & Pine catalogue import: JSON contract as automatic checks.
# Generated by examples/generate.py; edit the generator, not this file.

[[failures.checks]]
name = "required-fields"
category = "schema"
required_fields = ["sku", "name", "colour", "size", "price_eur", "in_stock"]
description = "Every object carries all six keys."

[[failures.checks]]
name = "price-number"
category = "schema"
must_not_match = '"price_eur":\\s*"'
description = "price_eur is a number, not a string with a currency."
"""


def _common(name: str, title: str, summary: str, conclusion: str, sigs: tuple[PlantedSignature, ...], days: int,
            per_day: float, model: str = "gpt-4o-2024-08-06", advise_toml: str = ADVISE_TOML) -> Scenario:
    holder: list[Scenario] = []

    def make(rng: random.Random) -> Content:
        return make_extraction_content(rng, holder[0])

    sc = Scenario(
        name=name, title=title, summary=summary, expected_conclusion=conclusion, provider="openai", model=model,
        system_prompt=SYSTEM_PROMPT, make_content=make,
        traffic=TrafficShape(hourly=EU_BUSINESS_HOURS, weekly=WEEKDAYS_HEAVY),
        days=days, per_day=per_day, sample_rate=1.0, default_format="openai_chat", max_tokens=200,
        temperature=0.0, response_format={"type": "json_object"}, signatures=sigs, labelled=True,
        error_rate=0.003, truncation_rate=0.0, ms_per_output_token=12.0,
        metadata={"app": "catalogue-import", "env": "prod"}, advise_toml=advise_toml,
    )
    holder.append(sc)
    return sc


PLANT_STRUCTURAL = _common(
    "plant-structural",
    "Failure plant: 18% structural failures from 3 recurring signatures",
    ("Supplier-line → JSON extraction with three recurring structural failure signatures (code fences 7%, "
     "missing 'sku' 6%, price as string 5%) plus 3% scattered one-off value errors. Every call is labelled."),
    ("Consistency high (18 of 21 failure points are recurring structural signatures), knowledge share 0: "
     "each signature recovered within ±3 points."),
    (*STRUCTURAL, _scattered(0.03)), days=7, per_day=150.0)

PLANT_RANDOM = _common(
    "plant-random",
    "Failure plant: ~5% scattered one-off failures",
    "The same extraction task with only scattered one-off value errors (~5%), each with a different note.",
    "No recurring signature: consistency ≈ 0, no cluster above ~1%, knowledge share 0.",
    (_scattered(0.05),), days=7, per_day=150.0)

LOWVOLUME = _common(
    "lowvolume",
    "Low volume — 50 requests/day with scattered failures",
    ("A small boutique imports supplier lines with gpt-4o: about 50 requests/day over 14 days, ~6% scattered "
     "one-off value errors, labelled by the one person who reviews them."),
    ("Keep prompting: failures are scattered one-offs (nothing a fine-tune would learn) and at 50 requests/day "
     "no one-time training cost pays back; improve the prompt/few-shot instead. `advise run` must stop before training."),
    (_scattered(0.06),), days=14, per_day=50.0,
    advise_toml=ADVISE_TOML + """
[assumptions]
# What one wrong catalogue value costs the boutique: its one reviewer spots and fixes it, ~1 min at ≈ USD 15/h.
failure_cost = 0.25
""")
