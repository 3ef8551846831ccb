"""Brightline Broadband support bot: knowledge failures (the RAG case).

Prices and policies changed on 1 February 2025. The system prompt carries the new plan
prices, but every other policy (fees, router, installation, moving, compensation, add-ons)
comes from what the model remembers, which is the 2024 handbook. Most failures are *outdated* or *invented* facts, and
reviewers labelled every conversation with a free-text note, so failures cluster by topic
rather than by output format. ``plant-knowledge`` is the same bot with a cleaner plant.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from examples.scenarios.base import Content, PlantedSignature, Scenario
from examples.traffic import CONSUMER_HOURS, WEEK_FLAT_ISH, TrafficShape

CHANGE_DATE = "1 February 2025"


@dataclass(frozen=True)
class Fact:
    topic: str
    current: str  # true since CHANGE_DATE
    stale: str  # what the 2024 prompt and the model believe
    invented: tuple[str, ...]  # plausible values that were never true
    questions: tuple[str, ...]
    answer: str  # template with {value}


FACTS: tuple[Fact, ...] = (
    Fact("Fibre 300 monthly price", "€32 per month", "€29 per month", ("€27 per month", "€35 per month"),
         ("How much is Fibre 300 now?", "What does the Fibre 300 plan cost per month?",
          "I'm thinking of switching to Fibre 300, what's the monthly price?"),
         "Fibre 300 costs {value}, with no setup fee when you order online. The price includes the router and unlimited data."),
    Fact("Fibre 1000 monthly price", "€49 per month", "€45 per month", ("€55 per month", "€42 per month"),
         ("What's the price of the gigabit plan?", "How much is Fibre 1000 a month?",
          "Is Fibre 1000 expensive? What do I pay each month?"),
         "Fibre 1000 is {value}. It includes our latest router and unlimited data, and you can upgrade from any plan without a new contract."),
    Fact("early cancellation fee", "€10 for each remaining contract month, capped at €120",
         "€15 for each remaining contract month", ("a flat €200", "€20 for each remaining month"),
         ("What happens if I cancel my contract early?", "Is there a fee to leave before my 24 months are up?",
          "I'm moving abroad, how much does it cost to end my contract early?"),
         "If you cancel before the end of your minimum term, the early cancellation fee is {value}. You can cancel in the app under Account > Contract."),
    Fact("router model", "the Brightline Hub 6 with Wi-Fi 6E", "the Brightline Hub 5 with Wi-Fi 6",
         ("the Brightline Hub 7 with Wi-Fi 7", "a TP-Link Archer AX55"),
         ("Which router do new customers get?", "What router comes with a new Fibre plan?",
          "Do you give Wi-Fi 6 routers?"),
         "New customers receive {value}. It is set up automatically on activation day; just plug it into the fibre box."),
    Fact("installation lead time", "5 working days", "10 working days", ("48 hours", "3 weeks"),
         ("How long until my fibre is installed?", "When will the engineer come after I order?",
          "How quickly can you connect a new flat?"),
         "Most new connections are installed within {value} of your order. You will get a text to pick the engineer's slot."),
    Fact("support opening hours", "8:00–22:00 every day", "8:00–20:00 Monday to Saturday",
         ("24/7", "9:00–17:00 on weekdays"),
         ("When is phone support open?", "Can I call you on Sunday evening?", "What are your support hours?"),
         "Our phone team is available {value}. The chat and the app's fault checker are open at any time."),
    Fact("home move fee", "free", "€49", ("€29", "€99"),
         ("I'm moving house, do I have to pay to move my broadband?", "How much is it to transfer my line to a new address?",
          "Is there a charge for moving my connection?"),
         "Moving your broadband to a new address is {value} if your new home is in our fibre area. Tell us at least two weeks before the move."),
    Fact("outage compensation", "€2 per day once an outage lasts more than 24 hours", "not offered",
         ("a full month free after any outage", "€10 per hour of outage"),
         ("My internet was down for three days, do I get money back?", "Do you compensate for outages?",
          "Is there a credit when the connection fails for a long time?"),
         "Compensation for outages is {value}. Credits are added automatically to your next bill."),
    Fact("static IP add-on", "available on every plan for €5 per month", "only available on business plans",
         ("free on Fibre 1000", "€15 per month"),
         ("Can I get a static IP at home?", "Do you offer fixed IP addresses for residential customers?",
          "How much is a static IP?"),
         "A static IPv4 address is {value}. You can add it in the app under Plan > Add-ons; it is active within an hour."),
)

STABLE_ANSWERS: tuple[tuple[str, str], ...] = (
    ("My Wi-Fi keeps dropping in the bedroom, what can I do?",
     "Wi-Fi drop-outs far from the router are usually a coverage issue. Try moving the router off the floor and away from "
     "metal objects, and restart it from the app. If the bedroom is still weak, a mesh extender will help; you can order one in the app."),
    ("How do I change my Wi-Fi password?",
     "You can change it in the app under Home > Wi-Fi > Password. Devices will need the new password to reconnect. "
     "If you prefer, log in to the router at 192.168.1.1 with the admin code printed on its label."),
    ("Where can I see my bill?",
     "Your bills are in the app under Account > Bills, and we email a copy on the 1st of each month. "
     "You can download any bill from the last 24 months as a PDF."),
    ("Is there a data limit on my plan?",
     "There is no data cap on any Brightline plan, so you can stream and download as much as you need."),
    ("Can I pause my contract while I travel?",
     "We can't pause a broadband contract, but you can switch to our Basic plan for up to three months while you are away. "
     "Ask in the app under Plan > Change."),
    ("The light on my fibre box is red, what does that mean?",
     "A red light means the fibre signal is not reaching the box. Check the green fibre cable is clicked in and not bent. "
     "If the light stays red after a restart, run the fault checker in the app and we will book an engineer."),
)

OPENERS = ("Hi", "Hello", "Good morning", "Thanks for getting in touch")
IN_PROMPT = {"Fibre 300 monthly price", "Fibre 1000 monthly price", "support opening hours"}
OFF_PROMPT_FACTS = tuple(f for f in FACTS if f.topic not in IN_PROMPT)
NAMES = ("Sam", "Aisha", "Jonas", "Maria", "Liam", "Chen", "Fatima", "Noah", "Elif", "Tom", "Priya", "Lukas")
SIGN = ("Is there anything else I can help with?", "Let me know if you have any other questions.",
        "Happy to help with anything else.")
STYLE_SLIPS = (
    ("wrong-language", "Replied in German to an English question."),
    ("too-long", "Answer is four paragraphs for a one-line question."),
    ("wrong-name", "Called the customer by the wrong name."),
    ("internal-jargon", "Used internal ticket codes the customer cannot know."),
    ("sarcastic", "Tone came across as sarcastic."),
    ("no-answer", "Repeated the question back without answering it."),
    ("emoji-spam", "Filled the reply with emojis."),
)

SYSTEM_PROMPT = """You are Brightline's customer support assistant for home broadband customers in Ireland.

Goals: resolve the customer's question in one reply, in plain, friendly English, in 2-4 sentences. Address the customer by first name when they give it. Never make promises about compensation, prices or dates that are not listed below. If you are unsure, say so and point to the app or the phone team.

Facts you can rely on (updated 3 February 2025):
- Plans: Basic 100 (€24 per month), Fibre 300 (€32 per month), Fibre 1000 (€49 per month). All plans have unlimited data and a 24-month minimum term.
- Phone support: 8:00–22:00 every day. Chat and the app's fault checker are always open.
- Bills: in the app under Account > Bills, emailed on the 1st of each month.
For other policies (fees, equipment, installation, moving, compensation, add-ons) answer from what you know about Brightline.

Safety: never ask for full card numbers or passwords. For anything about a specific account (payments, faults on one line), ask the customer to continue in the app where they are logged in.

Format: plain text, no markdown, no lists unless the customer asks for steps. End with a short offer to help further."""


def _opener(rng: random.Random, name: str | None) -> str:
    word = rng.choice(OPENERS)
    if word.startswith("Thanks"):
        return f"{word}{', ' + name if name else ''}."
    return f"{word} {name}." if name else f"{word}."


def make_support_content(rng: random.Random, sc: Scenario, stable_share: float) -> Content:
    name = rng.choice(NAMES) if rng.random() < 0.6 else None
    intro = f"Hi, this is {name}. " if name else ""
    sig = sc.pick(rng)
    meta = {"feature": "support-chat", "channel": rng.choice(["web", "app", "app", "whatsapp"])}
    if sig is not None and sig.kind == "knowledge" or (sig is None and rng.random() >= stable_share):
        # Failures happen on the policies the prompt does not carry; correct answers on any topic.
        fact = rng.choice(FACTS if sig is None else OFF_PROMPT_FACTS)
        question = intro + rng.choice(fact.questions)
        meta["topic"] = fact.topic
        correct = f"{_opener(rng, name)} {fact.answer.format(value=fact.current)} {rng.choice(SIGN)}"
        if sig is None:
            return Content(user=question, output=correct, metadata=meta)
        if sig.key == "outdated-fact":
            out = f"{_opener(rng, name)} {fact.answer.format(value=fact.stale)} {rng.choice(SIGN)}"
            note = (f"Outdated {fact.topic}: said {fact.stale}, but it is {fact.current} since {CHANGE_DATE}.")
        elif sig.key == "invented-fact":
            wrong = rng.choice(fact.invented)
            out = f"{_opener(rng, name)} {fact.answer.format(value=wrong)} {rng.choice(SIGN)}"
            note = f"Wrong {fact.topic}: stated {wrong}; the correct answer is {fact.current}."
        else:  # dont-know
            out = (f"{_opener(rng, name)} I'm sorry, I don't have up-to-date information about our {fact.topic}. "
                   "Please check the app or call our phone team.")
            note = f"Did not know the {fact.topic} ({fact.current}), which is in the help centre."
        return Content(user=question, output=out, signature=sig.key, category=sig.category, note=note,
                       expected=correct, metadata=meta)
    question, answer = rng.choice(STABLE_ANSWERS)
    meta["topic"] = "how-to"
    correct = f"{_opener(rng, name)} {answer} {rng.choice(SIGN)}"
    if sig is None:
        return Content(user=intro + question, output=correct, metadata=meta)
    slip, note = rng.choice(STYLE_SLIPS)
    out = {
        "wrong-language": f"Hallo{' ' + name if name else ''}, vielen Dank für Ihre Nachricht. {answer}",
        "too-long": "\n\n".join([correct, answer, "Also, " + answer[0].lower() + answer[1:], rng.choice(SIGN)]),
        "wrong-name": f"Hi {rng.choice([n for n in NAMES if n != name])}, {answer} {rng.choice(SIGN)}",
        "internal-jargon": f"{_opener(rng, name)} per KB-{rng.randrange(1000, 9999)} / T2 escalation path: {answer}",
        "sarcastic": f"{_opener(rng, name)} well, as it says in the app, {answer[0].lower() + answer[1:]}",
        "no-answer": f"{_opener(rng, name)} you are asking: {question.lower()} {rng.choice(SIGN)}",
        "emoji-spam": f"{_opener(rng, name)} 😀📶✨ {answer} 🙌🙌🙌",
    }[slip]
    topic = meta["topic"]
    return Content(user=intro + question, output=out, signature=sig.key, category=sig.category,
                   note=f"{note} (question: {question!r}, topic: {topic})", expected=correct, metadata=meta)


def _support(rng: random.Random) -> Content:
    return make_support_content(rng, SCENARIO, stable_share=0.45)


def _knowledge(rng: random.Random) -> Content:
    return make_support_content(rng, PLANT_KNOWLEDGE, stable_share=0.4)



SUPPORT_TOML = """# Brightline support bot. Generated by examples/generate.py; edit the generator, not this file.

[traffic]
sample_rate = {sample_rate}          # the committed logs hold a {pct}% sample of ~{per_day:,} requests/day

[assumptions]
# What one wrong answer costs Brightline: about 1 in 10 customers told a wrong price or policy calls an agent
# (≈ USD 5 a contact).
failure_cost = 0.50
"""

SCENARIO = Scenario(
    name="support",
    title="Brightline Broadband — customer support bot with stale facts",
    summary=("A consumer broadband support assistant on Claude. Policies changed on 1 February 2025; the system "
             "prompt carries only the new plan prices and hours, so for fees, equipment, installation, moving, "
             "compensation and add-ons the bot quotes the old 2024 policy, sometimes invents one, and sometimes "
             "says it does not know. Reviewers labelled every "
             "conversation with a free-text note (labels.jsonl). ~1,200 requests/day, evenings and weekends included."),
    expected_conclusion=("RAG: most failures are knowledge failures (outdated or invented facts about prices and "
                         "policies that change), not format drift; fine-tuning would bake the stale facts in. "
                         "Retrieve the current handbook at request time instead."),
    provider="anthropic",
    model="claude-3-5-sonnet-20241022",
    system_prompt=SYSTEM_PROMPT,
    make_content=_support,
    traffic=TrafficShape(hourly=CONSUMER_HOURS, weekly=WEEK_FLAT_ISH),
    days=14,
    per_day=1200.0,
    sample_rate=0.05,
    default_format="anthropic",
    max_tokens=300,
    temperature=0.3,
    signatures=(
        PlantedSignature("outdated-fact", "outdated", 0.09,
                         "Quoted a price/policy that changed on 1 February 2025.", "labels:outdated",
                         kind="knowledge"),
        PlantedSignature("invented-fact", "factual", 0.05, "Stated a price/policy that was never true.",
                         "labels:factual", kind="knowledge"),
        PlantedSignature("dont-know", "factual", 0.02, "Said it had no information although the answer is known.",
                         "labels:factual", kind="knowledge"),
        PlantedSignature("style-slip", "style", 0.02, "One-off tone/language slips, each different.",
                         "labels:style", kind="scattered"),
    ),
    labelled=True,
    error_rate=0.006,
    ms_per_output_token=16.0,
    ttft_ms=600.0,
    metadata={"app": "brightline-support", "env": "prod"},
    advise_toml=SUPPORT_TOML,
)

PLANT_KNOWLEDGE = Scenario(
    name="plant-knowledge",
    title="Failure plant: knowledge failures (outdated and invented facts)",
    summary=("The Brightline support bot with a clean plant for the failure analysis: 10% outdated facts, "
             "6% invented facts, nothing structural. Every call is labelled."),
    expected_conclusion=("Knowledge failures ≈16% of calls (outdated 10%, factual 6%), no recurring structural "
                         "signature: consistency low, knowledge share high → RAG."),
    provider="openai",
    model="gpt-4o-mini-2024-07-18",
    system_prompt=SYSTEM_PROMPT,
    make_content=_knowledge,
    traffic=TrafficShape(hourly=CONSUMER_HOURS, weekly=WEEK_FLAT_ISH),
    days=7,
    per_day=150.0,
    sample_rate=1.0,
    default_format="openai_chat",
    max_tokens=300,
    temperature=0.3,
    signatures=(
        PlantedSignature("outdated-fact", "outdated", 0.10,
                         "Quoted a price/policy that changed on 1 February 2025.", "labels:outdated",
                         kind="knowledge"),
        PlantedSignature("invented-fact", "factual", 0.06, "Stated a price/policy that was never true.",
                         "labels:factual", kind="knowledge"),
    ),
    labelled=True,
    truncation_rate=0.0,
    error_rate=0.003,
    metadata={"app": "brightline-support", "env": "prod"},
)
