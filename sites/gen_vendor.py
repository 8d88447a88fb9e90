#!/usr/bin/env python3
"""Builds sites/marketing/assets/vendor.js (the "Ledgerly kit") and the static
chart fallback image from the hand-written parts in sites/vendor-src/ plus
generated data tables.

The output is committed; run this only after editing vendor-src/, then run
sites/rehash.py so the asset gets its content-hashed name. Standard library
only. Reference data (ISO 4217 / 3166 names) comes from the Debian iso-codes
package when it is installed and from a small built-in list otherwise.
"""

import glob
import json
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "vendor-src")
ASSETS = os.path.join(HERE, "marketing", "assets")
ISO = "/usr/share/iso-codes/json"
LOCALES = "/usr/share/i18n/locales"

# ISO 4217 minor units that differ from the usual 2.
MINOR_UNITS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0,
    "XPF": 0, "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "CLF": 4, "UYW": 4, "XAU": -1, "XAG": -1, "XPT": -1, "XPD": -1, "XDR": -1, "XXX": -1,
    "XTS": -1, "XBA": -1, "XBB": -1, "XBC": -1, "XBD": -1, "XSU": -1, "XUA": -1,
}

SYMBOLS = {
    "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "¥", "INR": "₹", "KRW": "₩",
    "RUB": "₽", "TRY": "₺", "ILS": "₪", "NGN": "₦", "PHP": "₱", "THB": "฿", "VND": "₫",
    "UAH": "₴", "PLN": "zł", "CZK": "Kč", "HUF": "Ft", "CHF": "CHF", "SEK": "kr",
    "NOK": "kr", "DKK": "kr", "ISK": "kr", "CAD": "$", "AUD": "$", "NZD": "$", "MXN": "$",
    "BRL": "R$", "ZAR": "R", "SGD": "$", "HKD": "$", "TWD": "$", "MYR": "RM", "IDR": "Rp",
    "KZT": "₸", "GHS": "₵", "PKR": "₨", "LKR": "Rs", "EGP": "£", "AED": "د.إ", "SAR": "﷼",
    "ARS": "$", "CLP": "$", "COP": "$", "PEN": "S/", "RON": "lei", "BGN": "лв", "GEL": "₾",
    "AMD": "֏", "AZN": "₼", "MNT": "₮", "LAK": "₭", "KHR": "៛", "BDT": "৳", "CRC": "₡",
    "PYG": "₲", "KES": "KSh", "MAD": "DH", "QAR": "QR", "KWD": "KD", "BHD": "BD", "OMR": "RO",
}

# Standard VAT / GST / sales-tax rates in basis points (illustrative, 2026).
TAX_RATES = {
    "AT": 2000, "BE": 2100, "BG": 2000, "HR": 2500, "CY": 1900, "CZ": 2100, "DK": 2500,
    "EE": 2400, "FI": 2550, "FR": 2000, "DE": 1900, "GR": 2400, "HU": 2700, "IE": 2300,
    "IT": 2200, "LV": 2100, "LT": 2100, "LU": 1700, "MT": 1800, "NL": 2100, "PL": 2300,
    "PT": 2300, "RO": 2100, "SK": 2300, "SI": 2200, "ES": 2100, "SE": 2500, "GB": 2000,
    "NO": 2500, "CH": 810, "IS": 2400, "AU": 1000, "NZ": 1500, "CA": 500, "JP": 1000,
    "SG": 900, "IN": 1800, "ZA": 1500, "MX": 1600, "BR": 1700, "AR": 2100, "CL": 1900,
    "TR": 2000, "IL": 1800, "AE": 500, "SA": 1500, "KR": 1000, "TW": 500, "TH": 700,
    "US": 0, "HK": 0,
}
TAX_NAMES = {"AU": "GST", "NZ": "GST", "CA": "GST", "SG": "GST", "IN": "GST", "JP": "JCT",
             "US": "Sales tax", "CH": "MWST"}

FALLBACK_CURRENCY = {"US": "USD", "GB": "GBP", "DE": "EUR", "FR": "EUR", "JP": "JPY",
                     "CA": "CAD", "AU": "AUD", "NZ": "NZD", "CH": "CHF", "SG": "SGD"}

PRICE_BOOK = {
    # Monthly prices in minor units; yearly plans bill ten months for twelve.
    "yearlyMonths": 10,
    "trialDays": 14,
    "plans": [
        {"id": "solo", "name": "Solo", "accounts": 25, "seats": 1},
        {"id": "studio", "name": "Studio", "accounts": None, "seats": 5},
        {"id": "business", "name": "Business", "accounts": None, "seats": 25},
    ],
    "prices": {
        "USD": {"solo": 900, "studio": 1900, "business": 3900},
        "EUR": {"solo": 900, "studio": 1800, "business": 3700},
        "GBP": {"solo": 800, "studio": 1600, "business": 3200},
        "CAD": {"solo": 1200, "studio": 2500, "business": 5200},
        "AUD": {"solo": 1400, "studio": 2900, "business": 5900},
        "JPY": {"solo": 1400, "studio": 2900, "business": 5900},
    },
}


def load_iso(name, key):
    path = os.path.join(ISO, name)
    if not os.path.exists(path):
        sys.exit(f"missing {path}: install the iso-codes package to regenerate vendor.js")
    with open(path, encoding="utf-8") as f:
        return json.load(f)[key]


def locale_currencies():
    found = {}
    for path in sorted(glob.glob(os.path.join(LOCALES, "*_*"))):
        m = re.match(r"^[a-z]{2,3}_([A-Z]{2})$", os.path.basename(path))
        if not m:
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            cm = re.search(r'^int_curr_symbol\s+"([A-Z]{3}) ?"', f.read(), re.M)
        if cm:
            found.setdefault(m.group(1), cm.group(1))
    return found


def currencies():
    rows = []
    for c in load_iso("iso_4217.json", "4217"):
        code = c["alpha_3"]
        rows.append([code, c["numeric"], c["name"], MINOR_UNITS.get(code, 2), SYMBOLS.get(code)])
    return rows


def countries(known_currencies):
    by_locale = locale_currencies()
    rows = []
    for c in load_iso("iso_3166-1.json", "3166-1"):
        a2 = c["alpha_2"]
        cur = by_locale.get(a2) or FALLBACK_CURRENCY.get(a2)
        if cur not in known_currencies:
            cur = None
        rate = TAX_RATES.get(a2)
        rows.append([a2, c["alpha_3"], c["numeric"], c.get("common_name", c["name"]), cur,
                     rate, TAX_NAMES.get(a2, "VAT") if rate is not None else None])
    return rows


ACCOUNTS = [
    [1, "Business checking", "asset"], [2, "Savings", "asset"], [3, "Accounts receivable", "asset"],
    [4, "Credit card", "liability"], [5, "Equipment loan", "liability"], [6, "Client work", "income"],
    [7, "Template sales", "income"], [8, "Interest", "income"], [9, "Rent", "expense"],
    [10, "Software", "expense"], [11, "Equipment", "expense"], [12, "Travel", "expense"],
    [13, "Payroll", "expense"], [14, "Taxes", "expense"], [15, "Marketing", "expense"],
    [16, "Office supplies", "expense"], [17, "Bank fees", "expense"], [18, "Contractors", "expense"],
]
CLIENTS = ["Northwind Traders", "Fabrikam", "Contoso Pharma", "Tailspin Toys", "Wide World Importers",
           "Adventure Works", "Blue Yonder Airlines", "Coho Winery", "Litware", "Proseware",
           "Lucerne Publishing", "Margie's Travel", "Alpine Ski House", "Woodgrove Bank", "Trey Research"]
SOFTWARE = [("Figma", 4500), ("Adobe Creative Cloud", 5999), ("Google Workspace", 3600), ("Slack", 2625),
            ("GitHub", 2100), ("Notion", 2000), ("Dropbox", 1999), ("Zoom", 1599), ("Ledgerly", 1900)]
SUPPLIES = ["Printer paper", "Sketchbooks", "Coffee beans", "Ink cartridges", "Cables and adapters",
            "Desk lamp", "Whiteboard markers", "Postage"]
TRAVEL = ["Train to client workshop", "Conference ticket", "Hotel, two nights", "Taxi from airport",
          "Flight to design week", "Parking at client site"]
MARKETING = ["Sponsored newsletter slot", "Portfolio site hosting", "Business cards", "Dribbble Pro",
             "Meetup sponsorship", "Stock photo pack"]
CONTRACTORS = ["Illustration, freelance", "Copywriting, freelance", "Motion design, freelance",
               "Front-end build, freelance"]


def demo_transactions():
    rnd = random.Random(20261124)
    out = []
    invoice = 1001
    for month_index in range(24):
        year = 2024 + (10 + month_index) // 12
        month = (10 + month_index) % 12 + 1
        growth = 1 + month_index * 0.035
        dim = [31, 29 if year % 4 == 0 else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]

        def day(d):
            return f"{year}-{month:02d}-{min(d, dim):02d}"

        if month_index == 0:
            out.append([day(1), 1560000, "Equipment loan drawdown", 1, 5])
        out.append([day(1), 185000, "Studio rent", 9, 1])
        for name, cents in SOFTWARE:
            out.append([day(rnd.randint(1, 28)), cents, name + " subscription", 10, 4])
        out.append([day(15), 380000, "Payroll, first half", 13, 1])
        out.append([day(dim), 380000, "Payroll, second half", 13, 1])
        out.append([day(5), 65000, "Equipment loan instalment", 5, 1])
        out.append([day(28), 900, "Account fee", 17, 1])
        for _ in range(int(rnd.randint(3, 5) * growth)):
            client = rnd.choice(CLIENTS)
            amount = rnd.randint(60, 480) * 1000 + rnd.choice([0, 0, 0, 500, 2500])
            d = rnd.randint(1, 26)
            out.append([day(d), amount, f"Invoice #{invoice} — {client}", 3, 6])
            out.append([day(d + rnd.randint(1, 4)), amount, f"Payment for invoice #{invoice}", 1, 3])
            invoice += 1
        for _ in range(int(rnd.randint(3, 7) * growth)):
            price = rnd.choice([2900, 4900, 4900, 7900, 12900])
            out.append([day(rnd.randint(1, dim)), price, "Template sale, order " + str(rnd.randint(10000, 99999)), 1, 7])
        for _ in range(rnd.randint(1, 4)):
            out.append([day(rnd.randint(1, dim)), rnd.randint(12, 180) * 100 + rnd.randint(0, 99), rnd.choice(SUPPLIES), 16, 4])
        if rnd.random() < 0.6:
            out.append([day(rnd.randint(1, dim)), rnd.randint(40, 900) * 100 + rnd.choice([0, 50, 99]), rnd.choice(TRAVEL), 12, 4])
        if rnd.random() < 0.7:
            out.append([day(rnd.randint(1, dim)), rnd.randint(50, 600) * 100, rnd.choice(MARKETING), 15, 4])
        if rnd.random() < 0.5:
            out.append([day(rnd.randint(1, dim)), rnd.randint(8, 45) * 10000, rnd.choice(CONTRACTORS), 18, 1])
        if month in (1, 4, 7, 10):
            out.append([day(15), rnd.randint(30, 60) * 10000, "Quarterly estimated tax", 14, 1])
        if month in (3, 9):
            out.append([day(rnd.randint(1, 28)), rnd.randint(900, 2800) * 100 + 99, "New workstation", 11, 4])
        out.append([day(dim), rnd.randint(800, 2400), "Savings interest", 2, 8])
        card = sum(r[1] for r in out if r[4] == 4 and r[0].startswith(day(1)[:7]))
        out.append([day(dim), card, "Credit card statement paid", 4, 1])
        if month_index % 3 == 0:
            out.append([day(10), 300000, "Transfer to savings", 2, 1])
    out.sort(key=lambda r: (r[0], r[3], r[1]))
    return out


def monthly(transactions):
    types = {a[0]: a[2] for a in ACCOUNTS}
    months = {}
    for date, amount, _desc, debit, credit in transactions:
        row = months.setdefault(date[:7], [0, 0])
        if types[credit] == "income":
            row[0] += amount
        if types[debit] == "expense":
            row[1] += amount
    return sorted(months.items())


def fallback_svg(rows):
    """A static rendering of the landing chart, shown until (or without) JS."""
    width, height, left, top, bottom, right = 640, 320, 56, 16, 36, 16
    inner_w, inner_h = width - left - right, height - top - bottom
    peak = max(max(r[1]) for r in rows)
    step = 10 ** (len(str(peak // 100)) - 1) * 100
    while peak / step > 6:
        step *= 2
    top_value = -(-peak // step) * step
    band = inner_w / (len(rows) + 0.25)
    bar = band * 0.75 / 2 * 0.9
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" aria-labelledby="t">',
             '<title id="t">Monthly income and expenses of a sample design studio</title>',
             f'<g transform="translate({left},{top})" font-family="system-ui, sans-serif" font-size="11" fill="#4a5670">']
    v = 0
    while v <= top_value:
        y = inner_h - v / top_value * inner_h
        parts.append(f'<line x1="0" x2="{inner_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e2e8f0"/>')
        parts.append(f'<text x="-8" y="{y + 4:.1f}" text-anchor="end">{v / 100 / 1000:g}k</text>')
        v += step
    for i, (key, (income, expenses)) in enumerate(rows):
        x = band * 0.25 + band * i
        for j, (value, color) in enumerate(((income, "#0f766e"), (expenses, "#f59e0b"))):
            hgt = value / top_value * inner_h
            parts.append(f'<rect x="{x + j * bar * 1.1:.1f}" y="{inner_h - hgt:.1f}" width="{bar:.1f}" height="{hgt:.1f}" rx="2" fill="{color}"/>')
        if i % 3 == 0:
            label = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][int(key[5:]) - 1]
            parts.append(f'<text x="{x + bar:.1f}" y="{inner_h + 20}" text-anchor="middle">{label} {key[2:4]}</text>')
    parts.append("</g></svg>\n")
    return "\n".join(parts)


def js(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def rows_block(name, rows, comment):
    lines = [f"  // {comment}", f"  var {name} = ["]
    lines += ["    " + js(r) + ("," if i < len(rows) - 1 else "") for i, r in enumerate(rows)]
    lines.append("  ];")
    return "\n".join(lines)


def main():
    cur = currencies()
    known = {c[0] for c in cur}
    txs = demo_transactions()
    parts = [
        "/*! Ledgerly kit 1.4.0 | money, dates, ledger and SVG charts for ledgerly.example",
        " *  (c) 2026 Ledgerly | MIT License | generated by sites/gen_vendor.py, do not edit */",
        "(function (root, factory) {",
        '  "use strict";',
        "  var kit = factory();",
        '  if (typeof module === "object" && module.exports) {',
        "    module.exports = kit;",
        "  } else {",
        "    root.LedgerlyKit = kit;",
        "  }",
        '})(typeof self !== "undefined" ? self : this, function () {',
        '  "use strict";',
        "",
    ]
    for path in sorted(glob.glob(os.path.join(SRC, "*.js"))):
        with open(path, encoding="utf-8") as f:
            parts.append(f.read().rstrip() + "\n")
    parts.append("  // ---------------------------------------------------------------------------")
    parts.append("  // data: reference tables and the demo studio's books")
    parts.append("  // ---------------------------------------------------------------------------\n")
    parts.append(rows_block("CURRENCY_ROWS", cur, "[code, numeric, name, minor units (-1: none), symbol]"))
    parts.append("")
    parts.append(rows_block("COUNTRY_ROWS", countries(known),
                            "[alpha-2, alpha-3, numeric, name, currency, standard tax rate (bp), tax name]"))
    parts.append("")
    parts.append("  var PRICE_BOOK = deepFreeze(" + json.dumps(PRICE_BOOK, indent=2).replace("\n", "\n  ") + ");\n")
    parts.append(rows_block("DEMO_ACCOUNTS", ACCOUNTS, "[id, name, type]"))
    parts.append("")
    parts.append(rows_block("DEMO_TRANSACTIONS", txs, "[date, amount_cents, description, debit account, credit account]"))
    with open(os.path.join(SRC, "tail.js.in"), encoding="utf-8") as f:
        parts.append(f.read().rstrip())
    parts.append("});\n")
    out = "\n".join(parts)
    for old in glob.glob(os.path.join(ASSETS, "vendor*.js")):
        os.remove(old)
    with open(os.path.join(ASSETS, "vendor.js"), "w", encoding="utf-8") as f:
        f.write(out)
    for old in glob.glob(os.path.join(ASSETS, "chart-fallback*.svg")):
        os.remove(old)
    with open(os.path.join(ASSETS, "chart-fallback.svg"), "w", encoding="utf-8") as f:
        f.write(fallback_svg(monthly(txs)))
    print(f"vendor.js: {len(out.encode())} bytes, {len(txs)} demo transactions")


if __name__ == "__main__":
    main()
