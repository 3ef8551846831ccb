"""Ledgerly help assistant: a huge static prefix, few failures, bursty traffic (the caching case).

Every request carries the full ~3,000-token product manual in the system prompt and a short
question; answers are short and rarely wrong. Accountants work in sessions, so requests come
in bursts seconds apart: most calls would hit a prompt cache that nobody has switched on
(no ``cache_control`` blocks, so usage shows no cache reads or writes yet).
"""

from __future__ import annotations

import random

from examples.scenarios.base import Content, Scenario
from examples.traffic import EU_BUSINESS_HOURS, WEEKDAYS_HEAVY, TrafficShape

# (feature, menu path, what it does, a rule, a limit) — the manual is rendered from these rows.
FEATURES: tuple[tuple[str, str, str, str, str], ...] = (
    ("bank feeds", "Banking > Connections", "imports transactions from connected bank accounts every night",
     "a feed must be re-authorised every 90 days under PSD2", "up to 25 accounts per company"),
    ("bank reconciliation", "Banking > Reconcile", "matches imported transactions to invoices, bills and rules",
     "a reconciled line can only be undone by an adviser role", "suggestions use the last 18 months of history"),
    ("sales invoices", "Sales > Invoices", "creates, sends and tracks invoices with online payment links",
     "invoice numbers are sequential per series and cannot be reused", "attachments up to 10 MB per invoice"),
    ("credit notes", "Sales > Credit notes", "reverses all or part of an issued invoice",
     "a credit note must reference the original invoice", "a credit note cannot exceed the invoice total"),
    ("recurring invoices", "Sales > Recurring", "issues invoices on a schedule from a template",
     "changes to a template apply to the next run only", "schedules from weekly to yearly"),
    ("quotes", "Sales > Quotes", "sends quotes that customers can accept online and converts them to invoices",
     "an accepted quote is locked", "quotes expire after 30 days by default"),
    ("purchase bills", "Purchases > Bills", "records supplier bills, by hand or from the inbox scanner",
     "a bill needs a supplier, a date and at least one line", "the scanner reads PDF, JPG and PNG"),
    ("receipt scanning", "Purchases > Inbox", "reads receipts sent to your company's inbox address with OCR",
     "scanned data must be reviewed before posting", "500 scans a month on Standard, unlimited on Plus"),
    ("expense claims", "Purchases > Expenses", "lets employees submit expenses with a photo for approval",
     "mileage uses the rate set in Settings > Expenses", "claims older than 12 months are rejected"),
    ("VAT returns", "Tax > VAT", "prepares VAT returns from posted transactions and files them digitally",
     "a filed return locks its period", "supports standard, cash and flat-rate schemes"),
    ("payroll", "Payroll > Pay runs", "runs monthly or weekly payroll and files submissions to the tax authority",
     "a finalised pay run cannot be edited, only corrected in the next run", "up to 50 employees on Plus"),
    ("fixed assets", "Accounting > Fixed assets", "tracks assets and posts depreciation every month",
     "depreciation methods are straight-line or reducing balance", "disposals post a gain or loss automatically"),
    ("budgets", "Reports > Budgets", "compares monthly actuals with a budget per account",
     "a budget can be copied from last year's actuals", "up to 10 budgets per company"),
    ("reports", "Reports", "shows profit and loss, balance sheet, cash flow and aged debtors",
     "reports can be scheduled to email as PDF", "custom layouts on Plus only"),
    ("multi-currency", "Settings > Currencies", "invoices and pays in foreign currencies with daily rates",
     "realised gains and losses post on payment", "available on Plus"),
    ("user roles", "Settings > Users", "controls who can see and change what",
     "roles are Owner, Adviser, Standard and Read-only", "unlimited users on every plan"),
    ("lock dates", "Settings > Lock dates", "stops changes to periods that are closed",
     "only Owner and Adviser roles can move a lock date", "a separate lock date can apply to advisers"),
    ("data export", "Settings > Export", "exports the full ledger as CSV or SAF-T",
     "exports include attachments as a ZIP", "an export link is valid for 7 days"),
    ("API access", "Settings > Apps > API", "lets other tools read and write Ledgerly data with OAuth tokens",
     "tokens expire after 60 minutes and refresh for 60 days", "1,000 calls per minute per company"),
    ("year-end close", "Accounting > Year end", "rolls profit into retained earnings and opens the new year",
     "run it only after the final VAT return of the year", "a closed year can be reopened by an adviser"),
)
PLANS = ("Starter (€15/month, 1 bank feed, no payroll)", "Standard (€32/month, 5 bank feeds, payroll add-on)",
         "Plus (€58/month, 25 bank feeds, payroll up to 50 employees, multi-currency)")
QUESTION_TEMPLATES = ("Where do I find {feature}?", "How does {feature} work in Ledgerly?",
                      "Is there a limit on {feature}?", "Can you explain the rule for {feature}?",
                      "quick one: {feature} — what's the menu path?", "What can {feature} do for me?")


def _manual() -> str:
    rng = random.Random("ledgerly-manual-v12")  # fixed: the manual is static across every request
    parts = [
        "You are Ledgerly Assist, the in-app help assistant of Ledgerly, cloud accounting software for small "
        "businesses and their accountants. Answer from the manual below. Keep answers to two or three sentences, "
        "name the exact menu path, and never give tax or legal advice beyond what the manual says. If the manual "
        "does not cover a question, say so and suggest contacting support from Help > Contact.",
        "",
        "LEDGERLY PRODUCT MANUAL (version 12.4)",
        "",
        "Plans: " + "; ".join(PLANS) + ". Every plan includes unlimited invoices, unlimited users and email support. "
        "Plans can be changed at any time from Settings > Subscription; upgrades apply immediately and downgrades at "
        "the end of the billing month.",
        "",
    ]
    for i, (feature, path, does, rule, limit) in enumerate(FEATURES, 1):
        tips = rng.sample([
            "Use the search bar (press /) to jump straight to it.",
            "Changes are recorded in the audit trail under Settings > Audit.",
            "The mobile app shows the same screen with fewer options.",
            "Advisers see an extra column with the posting account.",
            "Filters are remembered per user.",
            "Bulk actions appear when you tick more than one row.",
            "A help video is linked at the top of the screen.",
            "Keyboard shortcuts are listed under Help > Shortcuts.",
        ], 3)
        parts.append(f"{i}. {feature.upper()}")
        parts.append(f"Menu: {path}. Ledgerly {does}. Rule: {rule}. Limit: {limit}. " + " ".join(tips))
        parts.append(
            f"Common problems: if {feature} does not show the expected figures, check the date filter at the top "
            f"right, confirm that the period is not locked (Settings > Lock dates) and that your role can see it. "
            f"If something still looks wrong, export the screen as CSV and contact support with the export attached."
        )
        parts.append("")
    parts.append(
        "STYLE: plain text, no markdown, British English. Do not mention these instructions. If the user writes in "
        "another language, answer in that language."
    )
    return "\n".join(parts)


MANUAL = _manual()


def _content(rng: random.Random) -> Content:
    feature, path, does, rule, limit = rng.choice(FEATURES)
    question = rng.choice(QUESTION_TEMPLATES).format(feature=feature)
    if rng.random() < 0.3:
        question = question[0].lower() + question[1:]
    answer = rng.choice([
        f"You'll find {feature} under {path}. Ledgerly {does}.",
        f"Go to {path}. Ledgerly {does}; note that {rule}.",
        f"{feature[0].upper() + feature[1:]} lives under {path}. The limit is {limit}, and {rule}.",
    ])
    return Content(user=question, output=answer, metadata={"feature": "in-app-help", "topic": feature})


SCENARIO = Scenario(
    name="caching",
    title="Ledgerly Assist — huge static manual in every prompt, bursty sessions",
    summary=("An in-app help assistant on Claude that sends the whole ~3,000-token product manual with every "
             "question. Few failures. Accountants work in bursts (sessions of ~12 questions seconds apart), "
             "about 400 requests/day; nobody has added cache_control yet, so usage shows no cache reads."),
    expected_conclusion=("Prompt caching: the static manual is >90% of input tokens and bursts keep a 5-minute cache "
                         "warm, so cache reads at ~0.1× price cut the bill with no training and no quality risk; "
                         "failures are too few for fine-tuning to win."),
    provider="anthropic",
    model="claude-3-5-sonnet-20241022",
    system_prompt=MANUAL,
    make_content=_content,
    traffic=TrafficShape(hourly=EU_BUSINESS_HOURS, weekly=WEEKDAYS_HEAVY, burst_mean_size=12.0, burst_gap_s=25.0,
                         jitter=0.1),
    days=3,
    per_day=400.0,
    sample_rate=1.0,
    default_format="anthropic",
    max_tokens=250,
    temperature=0.2,
    error_rate=0.003,
    truncation_rate=0.003,
    ms_per_output_token=16.0,
    ttft_ms=700.0,
    metadata={"app": "ledgerly-web", "env": "prod"},
)
