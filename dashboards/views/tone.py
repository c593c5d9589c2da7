"""Tone and intents: emotion and formality profiles; questions, ideas for product teams, purchase and
churn intent; switching flows between brands."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from dashboards import charts, data, ui

filters = ui.filters_or_stop(
    "Tone and intents", "How the audience talks about each brand, and what it wants."
)
config = data.project().config
brand_names = charts.brand_names(config)
intent_names = ui.label_names("intent")

with st.spinner("Reading the tone..."):
    tone, slice_note = data.audience_tone(filters)
ui.note(slice_note)
if tone.empty:
    st.info("No mentions in the selected range.")
    st.stop()
tone = charts.with_brand_names(tone, config)
left, right = st.columns(2)
for column, dimension, title in ((left, "emotion", "Emotion"), (right, "formality", "Formality")):
    with column:
        st.subheader(title, anchor=False)
        part = tone[tone["dimension"] == dimension]
        ui.chart(
            charts.stacked_profile(part, f"Share of mentions by {dimension}"),
            part.drop(columns=["ours"]),
            dimension,
        )

st.header("Intents", anchor=False)
with st.spinner("Counting intents..."):
    intents, _ = data.category_comparison(filters, "intent", tuple(intent_names))
intents = charts.with_brand_names(intents, config).assign(label=lambda f: f["category"].map(intent_names))
ui.chart(
    charts.grouped_bars(intents, config, "rate_per_1000", "label", "Per 1,000 mentions", ",.0f"),
    intents.drop(columns=["ours"]),
    "intents",
)

st.subheader("What people ask and suggest", anchor=False)
brand_ids = list(filters.brands)
default = brand_ids.index(config.own_brand.id) if config.own_brand.id in brand_ids else 0
left, right = st.columns(2)
brand = left.selectbox("Brand", brand_ids, index=default, format_func=brand_names.get, key="tone-brand")
intent = right.selectbox(
    "Intent",
    ["question", "suggestion", "purchase_intent", "churn_intent", "complaint", "praise"],
    format_func=lambda i: intent_names.get(i, i),
    key="tone-intent",
)
ui.quotes(data.evidence_for(filters, brand, intent=intent), limit=5, empty="No such posts in the range.")

st.header("Switching between brands", anchor=False)
flows, _ = data.switching(filters)
if flows.empty:
    st.info("No one said they were switching brands in the selected range.")
else:
    labels = {"unknown": "unnamed brand", **brand_names}
    nodes = [f"from {labels.get(b, b)}" for b in sorted(set(flows["from_brand"]))] + [
        f"to {labels.get(b, b)}" for b in sorted(set(flows["to_brand"]))
    ]
    index = {name: i for i, name in enumerate(nodes)}
    colors = charts.brand_colors(config)
    node_colors = [colors.get(n.split(" ", 1)[1], "#A0A0A0") for n in nodes]
    sankey = go.Figure(
        go.Sankey(
            node={"label": nodes, "color": node_colors, "pad": 18, "thickness": 16},
            link={
                "source": [index[f"from {labels.get(b, b)}"] for b in flows["from_brand"]],
                "target": [index[f"to {labels.get(b, b)}"] for b in flows["to_brand"]],
                "value": flows["posts"].tolist(),
                "hovertemplate": "%{source.label} → %{target.label}: %{value:,} posts<extra></extra>",
            },
        )
    )
    sankey.update_layout(height=420, margin={"l": 10, "r": 10, "t": 10, "b": 10})
    st.plotly_chart(sankey, width="stretch", theme="streamlit")
    ui.downloads(flows, "switching")
