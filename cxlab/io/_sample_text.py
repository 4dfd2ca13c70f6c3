"""Comment templates and name lists of the sample-client generator (private to cxlab.io.sample).

Every free-text comment of the sample data is one of these templates. Templates are grouped by
*theme* and *tone* (``negative`` / ``neutral`` / ``positive``). The tone of a comment follows
its score; its theme follows the survey's touchpoint (a CSAT after a support call talks about
support) or, for NPS, the customer's experience (a customer whose delivery was late writes
about delivery).

The words in :data:`THEME_TERMS` appear in the templates of their own theme only (a test checks
this), so the share of comments "about delivery" is recoverable by a keyword search.
"""

from __future__ import annotations

__all__ = ["TEMPLATES", "THEME_TERMS", "FIRST_NAMES", "LAST_NAMES", "TONES"]

TONES: tuple[str, ...] = ("negative", "neutral", "positive")

#: theme -> terms that mark a comment as being about the theme (whole words, any case).
THEME_TERMS: dict[str, list[str]] = {
    "delivery": ["delivery", "delivered", "late", "courier", "parcel", "delayed", "dispatch"],
    "support": ["support", "agent", "hold", "helpline", "call centre"],
    "app": ["app", "login", "log in", "password", "crashed", "crashes"],
}

#: theme -> tone -> comment templates.
TEMPLATES: dict[str, dict[str, list[str]]] = {
    "delivery": {
        "negative": [
            "The delivery was late again and nobody told me why.",
            "My parcel arrived a week late, the courier left it in the rain.",
            "Delayed delivery twice in a row. The book was a birthday gift and came after the party.",
            "Tracking said dispatch three days ago and still nothing. Late and no updates.",
            "Courier never turned up, I had to chase the delivery myself.",
        ],
        "neutral": [
            "Delivery took a bit longer than promised but the parcel was fine.",
            "The courier was okay, the delivery window could be shorter.",
            "Delivered on the second attempt, no real harm done.",
        ],
        "positive": [
            "Fast delivery, the parcel was on my doorstep the next morning.",
            "Delivered a day early and well packed. Great courier.",
            "Quick dispatch and delivery, exactly as promised.",
        ],
    },
    "price": {
        "negative": [
            "Too expensive compared with other shops, I expected better prices.",
            "Prices went up and the discounts are gone. Not worth it any more.",
            "Hidden extra costs at the end, very disappointing.",
        ],
        "neutral": [
            "Prices are about the same as elsewhere.",
            "Fair prices, nothing special.",
            "Would buy more if there were better offers.",
        ],
        "positive": [
            "Great value for money, the offers are really good.",
            "Cheaper than anywhere else I looked. Brilliant prices.",
            "Good prices and the loyalty discount is a nice touch.",
        ],
    },
    "website": {
        "negative": [
            "The website is confusing, I could not find the basket.",
            "Search on the website is useless, it never finds the title I type.",
            "Checkout page kept reloading and lost my details.",
        ],
        "neutral": [
            "The website works, but the search could be smarter.",
            "Checkout is fine, a few too many steps.",
            "Website is okay once you get used to it.",
        ],
        "positive": [
            "The website is easy to use and checkout took a minute.",
            "Love the recommendations on the website, I always find something new.",
            "Smooth checkout, saved card details work perfectly.",
        ],
    },
    "support": {
        "negative": [
            "Support kept me on hold for forty minutes and then hung up.",
            "The agent was rude and did not solve anything. Useless helpline.",
            "I contacted support three times about the same problem, still not fixed.",
            "Waited ages on hold at the call centre, then was passed from agent to agent.",
        ],
        "neutral": [
            "Support answered eventually and the agent was polite.",
            "The helpline solved it on the second try.",
            "Support was okay, a bit slow to get back to me.",
        ],
        "positive": [
            "The support agent was friendly and fixed it straight away.",
            "Great support, no waiting on hold and a clear answer.",
            "Helpful agent on the helpline, problem solved in minutes.",
        ],
    },
    "books": {
        "negative": [
            "The book was damaged and pages were missing.",
            "Received the wrong edition and the cover was torn.",
            "Poor print quality, the ink smudges.",
        ],
        "neutral": [
            "Good range of titles, a few I wanted were out of stock.",
            "The book was as described.",
            "Decent choice, not much for rare editions.",
        ],
        "positive": [
            "Wonderful selection, I always find the titles I want.",
            "Beautiful edition, perfect condition. Will buy again.",
            "Great recommendations and a huge range of books.",
        ],
    },
    "network": {
        "negative": [
            "Coverage is terrible at home, calls drop all the time.",
            "Mobile data is painfully slow in the evening.",
            "No signal on the train, worst network I have had.",
        ],
        "neutral": [
            "Coverage is fine in town, patchy in the countryside.",
            "Network is okay, speeds vary.",
            "Signal is acceptable most of the time.",
        ],
        "positive": [
            "Excellent coverage everywhere I go, fast 5G.",
            "Never dropped a call, great network.",
            "Data speeds are brilliant, even abroad.",
        ],
    },
    "contract": {
        "negative": [
            "The contract terms were not explained, I was locked in for two years.",
            "Bill was higher than the plan I signed for.",
            "Changing my plan is a nightmare of paperwork.",
        ],
        "neutral": [
            "The plan is okay, the bill could be clearer.",
            "Contract is standard, nothing surprising.",
            "Signing up took a while but it worked out.",
        ],
        "positive": [
            "Clear plan and a simple bill every month.",
            "Switching plans was easy and quick.",
            "Flexible contract, exactly what I needed.",
        ],
    },
    "app": {
        "negative": [
            "The app crashed every time I tried to log in.",
            "Login fails constantly and the password reset never arrives.",
            "The app crashes after the last update, I cannot see my balance.",
            "Locked out of the app again, login is a pain.",
        ],
        "neutral": [
            "The app is fine, login is a bit slow.",
            "App works most of the time.",
            "Decent app, the password rules are annoying.",
        ],
        "positive": [
            "Great app, login with my fingerprint is instant.",
            "The app is clear and fast, everything I need in one place.",
            "Love the app, never crashed once.",
        ],
    },
    "fees": {
        "negative": [
            "Far too many fees, I was charged for things I never used.",
            "Interest rates are poor and the monthly fee went up.",
            "Charged a fee without warning, very disappointing.",
        ],
        "neutral": [
            "Fees are similar to other banks.",
            "Rates are average, nothing special.",
            "The fee is acceptable for what you get.",
        ],
        "positive": [
            "No hidden fees and a good savings rate.",
            "Low fees and clear pricing, great value.",
            "Good interest rate, transparent costs.",
        ],
    },
    "branch": {
        "negative": [
            "The branch closed early and the queue was enormous.",
            "Staff in the branch had no idea about my account.",
            "Nearest branch is an hour away now.",
        ],
        "neutral": [
            "The branch visit was fine, a short wait.",
            "Branch staff were polite, paperwork was slow.",
            "Okay experience in the branch.",
        ],
        "positive": [
            "Lovely staff in the branch, sorted everything in one visit.",
            "The branch advisor explained everything clearly.",
            "Quick and friendly service in the branch.",
        ],
    },
    "account": {
        "negative": [
            "Opening the account took weeks of paperwork.",
            "The card arrived broken and the account was blocked.",
            "Account statements are confusing and wrong.",
        ],
        "neutral": [
            "Account opening was straightforward enough.",
            "The account does what it should.",
            "Paperwork was okay, a few documents twice.",
        ],
        "positive": [
            "Opened the account in ten minutes, very smooth.",
            "Everything about the account is simple and clear.",
            "Best current account I have had.",
        ],
    },
}

FIRST_NAMES: list[str] = [
    "alex",
    "sam",
    "jo",
    "chris",
    "maria",
    "li",
    "omar",
    "anna",
    "tom",
    "fatima",
    "ben",
    "sofia",
    "noah",
    "emma",
    "liam",
    "zara",
    "jan",
    "eva",
    "pieter",
    "sanne",
]
LAST_NAMES: list[str] = [
    "smith",
    "jones",
    "patel",
    "brown",
    "khan",
    "taylor",
    "evans",
    "wilson",
    "devries",
    "jansen",
    "bakker",
    "visser",
    "murphy",
    "nguyen",
    "garcia",
    "cohen",
]
