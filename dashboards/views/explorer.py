"""Post explorer: full-text search over the enriched posts with their NLP labels, the words behind each
label highlighted, and a link to the original post."""

from __future__ import annotations

import streamlit as st

from dashboards import charts, data, ui

filters = ui.filters_or_stop("Post explorer", "Search the posts behind every number, in every language.")
config = data.project().config
brand_names = charts.brand_names(config)
pains, motives, intents = (ui.label_names(k) for k in ("pain_point", "motive", "intent"))

text = st.text_input("Search text", placeholder="e.g. late, opóźnienie, задержка, refund", key="ex-text")
cols = st.columns(5)
sentiment = cols[0].multiselect("Sentiment", ["positive", "neutral", "negative"], key="ex-sentiment")
pain = cols[1].selectbox(
    "Pain point", [None, *pains], format_func=lambda v: "any" if v is None else pains[v], key="ex-pain"
)
motive = cols[2].selectbox(
    "Motive", [None, *motives], format_func=lambda v: "any" if v is None else motives[v], key="ex-motive"
)
intent = cols[3].selectbox(
    "Intent", [None, *intents], format_func=lambda v: "any" if v is None else intents[v], key="ex-intent"
)
own = cols[4].toggle("Include brand accounts", key="ex-own")

with st.spinner("Searching posts..."):
    posts, total = data.explore_posts(filters, text, tuple(sentiment), pain, motive, intent, own)
if posts.empty:
    st.info("No posts match. Try fewer filters or another word.")
    st.stop()
st.caption(f"{total:,} posts match; showing the newest {len(posts):,}.")

table = posts.assign(
    brands=posts["brands"].map(lambda b: ", ".join(brand_names.get(x, x) for x in b)),
    intents=posts["intents"].map(lambda v: ", ".join(v) if v is not None else ""),
    pain_points=posts["pain_point_ids"].map(
        lambda v: ", ".join(pains.get(x, x) for x in v) if v is not None else ""
    ),
    motives=posts["motive_ids"].map(
        lambda v: ", ".join(motives.get(x, x) for x in v) if v is not None else ""
    ),
    url=posts["url"].map(ui.safe_url),
)
columns = ["created_at", "brands", "text", "sentiment_label", "pain_points", "motives", "intents", "emotion",
           "formality", "source", "language", "url", "author_id", "post_id"]  # fmt: skip
event = st.dataframe(
    table[columns],
    hide_index=True,
    width="stretch",
    on_select="rerun",
    selection_mode="single-row",
    key="ex-table",
    column_config={
        "created_at": st.column_config.DatetimeColumn("Posted", format="YYYY-MM-DD HH:mm"),
        "sentiment_label": "Sentiment",
        "text": st.column_config.TextColumn("Post", width="large"),
        "url": st.column_config.LinkColumn("Link", display_text="open"),
        "author_id": "Author (pseudonym)",
    },
)
ui.downloads(table[columns], "posts")

st.subheader("Why it was labelled so", anchor=False)
selected = event.selection.rows if event and event.selection else []
row = posts.iloc[selected[0] if selected else 0]
st.caption("Select a row to see its evidence. Highlighted words carry a label (hover for which).")
ui.post_card(row)
labels = (
    [
        f"brand **{brand_names.get(m['brand_id'], m['brand_id'])}** (matched {m['kind']})"
        for m in ui.items(row["brand_mentions"])
    ]
    + [
        f"pain point **{pains.get(p['id'], p['id'])}** ({p['score']:.2f})"
        for p in ui.items(row["pain_points"])
    ]
    + [f"motive **{motives.get(p['id'], p['id'])}** ({p['score']:.2f})" for p in ui.items(row["motives"])]
    + [f"{e['task']} **{e['label']}** ({e['score']:.2f})" for e in ui.items(row["label_evidence"])]
)
if labels:
    st.markdown("\n".join(f"- {line}" for line in labels))
