"""The polars side of `sextant bench profile`: per-customer aggregates over the same JSON
lines Sextant reads, as a lazy group-by. Prints one JSON object with the timing."""
import json
import os
import sys
import time
from datetime import datetime, timedelta

import polars as pl

directory, as_of_text = sys.argv[1], sys.argv[2]
as_of = datetime.fromisoformat(as_of_text).replace(tzinfo=None)
day = timedelta(days=1)

# MCC -> spending group, the same grouping Sextant's catalogue uses for its main categories.
GROUPS = {
    "groceries": ["5411", "5422", "5441", "5451", "5499"],
    "restaurants": ["5812", "5813", "5814"],
    "transport": ["4111", "4121", "4131", "5541", "5542"],
    "travel": ["4511", "7011", "4722", "3000"],
    "shopping": ["5651", "5691", "5732", "5942", "5999", "5311", "5944"],
    "health": ["5912", "8011", "8062"],
    "digital": ["4899", "5815", "5816", "5817"],
    "utilities": ["4900", "4814", "6513"],
}

started = time.perf_counter()
payments = pl.scan_ndjson(
    os.path.join(directory, "payments.jsonl"),
    schema={
        "type": pl.Utf8, "event_id": pl.Utf8, "customer_id": pl.Utf8, "occurred_at": pl.Utf8,
        "amount_minor": pl.Int64, "currency": pl.Utf8, "direction": pl.Utf8, "kind": pl.Utf8,
        "channel": pl.Utf8, "merchant_id": pl.Utf8, "mcc": pl.Utf8, "country": pl.Utf8,
        "status": pl.Utf8, "balance_after_minor": pl.Int64,
    },
).with_columns(pl.col("occurred_at").str.to_datetime("%Y-%m-%dT%H:%M:%SZ", strict=False))
p = payments.filter(pl.col("occurred_at") > as_of - 365 * day)
debit = (pl.col("direction") == "debit") & (pl.col("status").is_null())
spend = pl.when(debit).then(pl.col("amount_minor")).otherwise(0)
income = pl.when(pl.col("kind").is_in(["salary", "transfer_in"])).then(pl.col("amount_minor")).otherwise(0)
purchase = pl.col("kind") == "purchase"
aggregates = [
    pl.len().alias("payments_365d"),
    (income.sum() / 12).alias("income_monthly"),
    spend.sum().alias("spend_365d"),
    pl.when(pl.col("occurred_at") > as_of - 90 * day).then(spend).otherwise(0).sum().alias("spend_90d"),
    pl.when(pl.col("occurred_at") > as_of - 30 * day).then(spend).otherwise(0).sum().alias("spend_30d"),
    (pl.col("status") == "failed").sum().alias("failed_365d"),
    ((pl.col("status") == "failed") & (pl.col("occurred_at") > as_of - 90 * day)).sum().alias("failed_90d"),
    pl.when(pl.col("channel") == "cross_border").then(spend).otherwise(0).sum().alias("spend_cross_border"),
    pl.when(pl.col("channel") == "online").then(spend).otherwise(0).sum().alias("spend_online"),
    pl.when(pl.col("channel") == "transit").then(spend).otherwise(0).sum().alias("spend_transit"),
    pl.when(pl.col("kind") == "atm").then(spend).otherwise(0).sum().alias("spend_cash"),
    pl.when(pl.col("kind") == "instalment").then(pl.col("amount_minor")).otherwise(0).sum().alias("bnpl_amount"),
    (pl.col("kind") == "instalment").sum().alias("bnpl_count"),
    pl.when(pl.col("kind").is_in(["loan_repayment", "instalment"])).then(pl.col("amount_minor")).otherwise(0).sum().alias("debt_service"),
    pl.col("merchant_id").n_unique().alias("merchants"),
    pl.when(purchase).then(pl.col("amount_minor")).mean().alias("mean_ticket"),
    purchase.sum().alias("purchases"),
    pl.when(purchase).then(pl.col("occurred_at")).max().alias("last_purchase"),
    pl.col("balance_after_minor").min().alias("min_balance"),
    pl.col("balance_after_minor").last().alias("last_balance"),
    (pl.col("balance_after_minor") < 0).mean().alias("overdraft_share"),
]
for group, codes in GROUPS.items():
    aggregates.append(pl.when(pl.col("mcc").is_in(codes)).then(spend).otherwise(0).sum().alias(f"spend_{group}"))
per_customer = p.group_by("customer_id").agg(aggregates)

behaviour = pl.scan_ndjson(
    os.path.join(directory, "behaviour.jsonl"),
    schema={"type": pl.Utf8, "event_id": pl.Utf8, "customer_id": pl.Utf8, "occurred_at": pl.Utf8,
            "kind": pl.Utf8, "session_id": pl.Utf8, "screen": pl.Utf8, "product_id": pl.Utf8,
            "offer_id": pl.Utf8, "query": pl.Utf8},
).with_columns(pl.col("occurred_at").str.to_datetime("%Y-%m-%dT%H:%M:%SZ", strict=False))
b = behaviour.filter(pl.col("occurred_at") > as_of - 90 * day)
engagement = b.group_by("customer_id").agg(
    pl.col("session_id").n_unique().alias("sessions_90d"),
    (pl.col("kind") == "product_view").sum().alias("product_views_90d"),
    (pl.col("kind") == "offer_click").sum().alias("offer_clicks_90d"),
    (pl.col("kind") == "offer_impression").sum().alias("offer_impressions_90d"),
)
result = per_customer.join(engagement, on="customer_id", how="left")
try:
    frame = result.collect(engine="streaming")
except TypeError:
    frame = result.collect(streaming=True)
seconds = time.perf_counter() - started
print(json.dumps({
    "seconds": seconds,
    "customers": frame.height,
    "aggregates": frame.width - 1,
    "version": pl.__version__,
    "threads": pl.thread_pool_size(),
}))
