"""Recommended actions: short, derived from the digest's numbers by the documented rules below.

Each rule is a function ``rule(content) -> list[action]`` that looks only at the digest content (which
holds mart numbers) and fires when its condition holds; docs/digest.md lists them. An action is a dict
``{"rule", "brand_id", "text"}``. ``recommended_actions`` runs the rules in ``RULES`` order (their
priority) and keeps at most ``MAX_ACTIONS``; the same content always gives the same actions.
"""

from __future__ import annotations

from collections.abc import Callable

from pipelines.digest.text import num, pct

MAX_ACTIONS = 6
RESPONSE_TARGET = 0.8  # answer at least this share of questions and complaints
RESPONSE_DROP_PTS = 10.0  # a week-over-week fall of the response rate this large is worth acting on


def _posts(n: int) -> str:
    return f"{n} post" if n == 1 else f"{n} posts"


def _action(rule: str, brand_id: str | None, text: str) -> dict:
    return {"rule": rule, "brand_id": brand_id, "text": text}


def fix_our_spike(content: dict) -> list[dict]:
    """R1 own-spike: our brand had a spike this week -> follow up on its top pain point."""
    own = content["own"]
    out = []
    for m in content["movements"]:
        if m["kind"] == "spike" and m["brand_id"] == own["id"]:
            pains = m.get("top_pain_labels") or []
            about = f" about {pains[0].lower()}" if pains else ""
            out.append(_action("own-spike", own["id"], f"Follow up on {own['name']}'s spike on {m['day']}{about}: "
                               "publish a status update and answer the affected posts."))  # fmt: skip
    return out


def fix_our_gaps(content: dict) -> list[dict]:
    """R2 own-gap: a pain point is significantly more frequent for us than for the competitor average
    (``mart_pain_points.significant`` and ``gap > 0``) -> fix it first."""
    own = content["own"]
    return [
        _action("own-gap", own["id"], f"Fix {g['label'].lower()}: {num(g['rate'])} per 1,000 of our mentions "
                f"against {num(g['competitor_rate'])} for competitors.")
        for g in content["gaps"] if g["kind"] == "we_are_worse"
    ][:2]  # fmt: skip


def use_competitor_weakness(content: dict) -> list[dict]:
    """R3 competitor-weakness: a competitor's pain point rose or opened a gap this week (a movement) and our
    rate for it is significantly lower than theirs (``mart_pain_point_gaps``) -> speak to their unhappy
    customers about our strength."""
    own = content["own"]
    better = {
        (g["competitor_id"], g["pain_point"]) for g in content["gaps"] if g["kind"] == "competitor_is_worse"
    }
    out = []
    for m in content["movements"]:
        if (
            m["kind"] in ("pain_point", "pain_gap")
            and m["effect"] > 0
            and (m["brand_id"], m["label"]) in better
        ):
            name = next(b["name"] for b in content["brands"] if b["id"] == m["brand_id"])
            out.append(_action("competitor-weakness", m["brand_id"],
                               f"{name}'s customers complain about {m['label_name'].lower()}; "
                               f"{own['name']} does significantly better there: say so in campaigns aimed at them."))  # fmt: skip
    return out


def answer_backlog(content: dict) -> list[dict]:
    """R4 response: our response rate is below 80 % or fell by 10 points or more -> work through the
    unanswered questions and complaints."""
    own = content["own"]
    mine = next((b for b in content["responsiveness"]["brands"] if b["own"]), None)
    if mine is None or mine["response_rate"] is None:
        return []
    low = mine["response_rate"] < RESPONSE_TARGET
    fell = mine["change_pts"] is not None and mine["change_pts"] <= -RESPONSE_DROP_PTS
    if not (low or fell) or not content["responsiveness"]["own_unanswered"]:
        return []
    return [_action("response", own["id"], f"Answer the {num(content['responsiveness']['own_unanswered'])} "
                    f"questions and complaints left unanswered (response rate {pct(mine['response_rate'])}).")]  # fmt: skip


def switching_flows(content: dict) -> list[dict]:
    """R5 switching: more posts leave us for a competitor than come the other way -> find out why;
    more arrive from a competitor -> welcome them."""
    own = content["own"]["id"]
    pair: dict[str, int] = {}
    for f in content["switching"]["flows"]:
        if f["from_id"] == own and f["to_id"] not in ("unknown", own):
            pair[f["to_id"]] = pair.get(f["to_id"], 0) - f["posts"]
        if f["to_id"] == own and f["from_id"] not in ("unknown", own):
            pair[f["from_id"]] = pair.get(f["from_id"], 0) + f["posts"]
    names = {b["id"]: b["name"] for b in content["brands"]}
    out = []
    for brand, net in sorted(pair.items(), key=lambda kv: (kv[1], kv[0])):
        if net < 0:
            out.append(_action("switching", brand, f"Ask why people leave for {names[brand]} ({_posts(-net)} more "
                               f"left us for {names[brand]} than came back)."))  # fmt: skip
        elif net > 0:
            out.append(_action("switching", brand, f"Welcome people switching from {names[brand]} ({_posts(net)} more "
                               f"came from {names[brand]} than left for it): make onboarding easy."))  # fmt: skip
    return out[:2]


def unmet_motives(content: dict) -> list[dict]:
    """R6 unmet-motive: our audience asks about a motive at least 10 points more than our own posts offer
    it (``mart_motive_gap.gap_pts <= -10``) -> talk about it."""
    own = content["own"]
    return [
        _action("unmet-motive", own["id"], f"Talk more about {u['label'].lower()} in our posts: {pct(u['audience_mix'])} "
                f"of our audience's motives against {pct(u['brand_mix'])} of ours.")
        for u in content["motives"]["unmet"][:1]
    ]  # fmt: skip


def new_themes(content: dict) -> list[dict]:
    """R7 new-theme: a complaint theme about us that no taxonomy category covers (``novel``) appeared ->
    have someone read it."""
    own = content["own"]
    return [
        _action("new-theme", own["id"], f"Read the new complaint theme \u201c{t['label']}\u201d ({t['posts']} posts).")
        for t in content["themes"] if t["novel"] and own["id"] in t["brand_ids"]
    ][:1]  # fmt: skip


RULES: tuple[Callable[[dict], list[dict]], ...] = (
    fix_our_spike,
    fix_our_gaps,
    use_competitor_weakness,
    answer_backlog,
    switching_flows,
    unmet_motives,
    new_themes,
)


def recommended_actions(content: dict) -> list[dict]:
    actions = []
    for rule in RULES:
        actions.extend(rule(content))
    return actions[:MAX_ACTIONS]
