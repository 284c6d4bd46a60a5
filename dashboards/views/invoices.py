"""Operator Invoices: paid / settled / unpaid metrics and the invoice table."""

import streamlit as st

from dashboards import data, ui

f = ui.sidebar_filters("invoices")
ui.page_header("Invoices", f, ["invoices", "invoice_status_summary"])
if f is None:
    st.stop()

summary = data.invoice_status_summary(f)
invoices = data.invoices_table(f)


def amounts(df, col) -> str:
    return ", ".join(ui.fmt_money(a, c) for a, c in zip(df[col], df["currency"]) if a) or "–"


counts = summary.groupby("status")["invoice_count"].sum()
c = st.columns(4)
for col, status in zip(c, data.INVOICE_STATUSES):
    rows = summary[summary["status"] == status]
    col.metric(
        f"{status.capitalize()} invoices",
        ui.fmt_int(counts.get(status, 0)),
        border=True,
        help="Payable amount: " + amounts(rows, "payable_amount"),
    )
overdue = summary[summary["status"] == "unpaid"]
c[3].metric(
    "Overdue (unpaid, past due)",
    ui.fmt_int(overdue["overdue_invoice_count"].sum()),
    border=True,
    help="Payable amount: " + amounts(overdue, "overdue_amount"),
)

head, pick = st.columns([3, 2], vertical_alignment="bottom")
status_filter = pick.pills(
    "Status",
    list(data.INVOICE_STATUSES),
    selection_mode="multi",
    key="invoices:status",
    help="Show only invoices with these statuses",
)
shown = invoices[invoices["status"].isin(status_filter)] if status_filter else invoices
head.subheader(f"Invoices ({len(shown):,} of {len(invoices):,})" if status_filter else f"Invoices ({len(invoices):,})")
table = shown.assign(customer=shown["customer_name"].fillna(shown["customer_id"]) + " (" + shown["customer_type"] + ")")
st.dataframe(
    table[
        [
            "operator_name",
            "parent_operator_name",
            "customer",
            "invoice_id",
            "status",
            "wallet_id",
            "currency",
            "wallet_balance",
            "due_at",
            "days_overdue",
            "payable_amount",
            "period_from",
            "period_to",
        ]
    ],
    hide_index=True,
    width="stretch",
    column_config={
        "operator_name": st.column_config.TextColumn("Operator"),
        "parent_operator_name": st.column_config.TextColumn("Parent operator"),
        "customer": st.column_config.TextColumn("Customer (team or operator)"),
        "invoice_id": st.column_config.TextColumn("Invoice ID", width="medium"),
        "status": st.column_config.TextColumn("Status", width="small"),
        "wallet_id": st.column_config.TextColumn("Wallet ID", width="small"),
        "currency": st.column_config.TextColumn("Currency", width="small"),
        "wallet_balance": st.column_config.NumberColumn("Wallet balance", format="%.2f", width="small"),
        "due_at": st.column_config.DatetimeColumn("Due at", format="YYYY-MM-DD HH:mm", width="medium"),
        "days_overdue": st.column_config.NumberColumn("Days overdue", format="%d", width="small"),
        "payable_amount": st.column_config.NumberColumn("Payable amount", format="%.2f", width="small"),
        "period_from": st.column_config.DatetimeColumn("Period from", format="YYYY-MM-DD", width="small"),
        "period_to": st.column_config.DatetimeColumn("Period to", format="YYYY-MM-DD", width="small"),
    },
)

st.subheader("By currency and status")
st.dataframe(
    summary,
    hide_index=True,
    width="stretch",
    column_config=ui.columns(
        {
            "currency": "Currency",
            "status": "Status",
            "invoice_count": "Invoices",
            "payable_amount": "Payable amount",
            "overdue_invoice_count": "Overdue invoices",
            "overdue_amount": "Overdue amount",
            "max_days_overdue": "Max days overdue",
        },
        money=("payable_amount", "overdue_amount"),
    ),
)
st.caption(
    "Wallet balances are in the wallet's currency; days overdue are counted to the as-of date "
    f"({data.as_of_date()}). The date range selects invoices by their issue month (UTC)."
)
