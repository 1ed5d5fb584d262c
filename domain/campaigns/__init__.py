"""Campaigns and offers: targeted strategies per segment, and whether they helped.

- `campaigns`: definitions (who, when, which channel, goal, budget, caps);
- `lifecycle`: the states, launch, the scheduler's moves, joiners;
- `audience`: who is targeted, the holdout split, the audience report;
- `policies`: how each customer type is treated; `settings`: the workspace's;
- `offers`: terms and pricing; `customer_offers`: what a customer sees;
- `redemptions`: validate, reserve, confirm, release, expire;
- `engagement`: events reported by apps and delivery providers;
- `results`: arm against arm, uplift with honest intervals;
- `demo`: a finished campaign for the demo store.

Sending messages is not Tribe's job: each treated customer's
`campaign.targeted` event reaches the business's SMS, email or push provider
through webhooks and subscriptions.
"""
