"""The customer and task lists of the workspace: their sort keys and the customer list's filter form (the generic
sort/count/page helper is brokercrm.lists)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django import forms
from django.utils import timezone

from brokercrm.labels import choices as label_choices
from brokercrm.lists import ListSpec
from customers import selectors as customer_selectors
from customers.models import RetentionClass, Source
from customers.pipelines import FinanceStatus, KycStatus, SalesStatus

# --- the customer list's filters -----------------------------------------------------------------------------------

CUSTOMER_LIST = ListSpec(
    sorts={"id": ("id",), "name": ("last_name", "first_name"), "country": ("country",),
           "registered": ("registered_at",), "last_activity": ("last_activity_at",),
           "sales": ("sales_status",), "kyc": ("kyc_status",), "finance": ("finance_status",),
           "retention": ("retention_class",), "agent": ("assigned_to__last_name", "assigned_to__first_name")},
    default_sort="registered", default_desc=True,
    labels={"id": "#", "kyc": "KYC", "registered": "Registered", "last_activity": "Last activity"})


def _day_start(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class CustomerFilterForm(forms.Form):
    """What the customer list filters on. Choices come from the viewer's scope (agents, teams, groups)."""

    search = forms.CharField(required=False, max_length=100, label="Search")
    sales_status = forms.ChoiceField(required=False, label="Sales")
    kyc_status = forms.ChoiceField(required=False, label="KYC")
    finance_status = forms.ChoiceField(required=False, label="Finance")
    retention = forms.ChoiceField(required=False, label="Retention")
    country = forms.RegexField(required=False, regex=r"^[A-Za-z]{2}$", label="Country", max_length=2,
                               error_messages={"invalid": "A country is a two-letter code, like GB."})
    source = forms.ChoiceField(required=False, label="Source")
    group = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Group")
    assigned_to = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Agent")
    team = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Team")
    registered_from = forms.DateField(required=False, label="Registered from")
    registered_to = forms.DateField(required=False, label="Registered to")
    active_from = forms.DateField(required=False, label="Last activity from")
    active_to = forms.DateField(required=False, label="Last activity to")

    def __init__(self, data, *, agents, teams, groups):
        super().__init__(data)

        any_ = [("", "Any")]
        self.fields["sales_status"].choices = any_ + label_choices(SalesStatus.values)
        self.fields["kyc_status"].choices = any_ + label_choices(KycStatus.values)
        self.fields["finance_status"].choices = any_ + label_choices(FinanceStatus.values)
        self.fields["retention"].choices = any_ + label_choices(RetentionClass.values)
        self.fields["source"].choices = any_ + label_choices(Source.values)
        self.fields["group"].choices = any_ + [(str(g.pk), g.name) for g in groups]
        self.fields["assigned_to"].choices = any_ + [(str(a.pk), str(a)) for a in agents]
        self.fields["team"].choices = any_ + [(str(t.pk), t.name) for t in teams]
        for f in self.fields.values():
            if isinstance(f, forms.ChoiceField):
                f.error_messages["invalid_choice"] = f"“%(value)s” is not one of the {f.label.lower()} choices."
            if isinstance(f, forms.DateField):
                f.error_messages["invalid"] = "Enter a date like 2026-01-31."
                f.widget.input_type = "date"

    def clean(self):
        data = super().clean()
        for start, end in (("registered_from", "registered_to"), ("active_from", "active_to")):
            if data.get(start) and data.get(end) and data[start] > data[end]:
                self.add_error(end, "The end date is before the start date.")
        return data

    def apply(self, *, user, request):
        """The visible customers matching the (valid) filters."""

        data = self.cleaned_data
        passed = {k: str(data[k]) for k in ("search", "sales_status", "kyc_status", "finance_status", "retention",
                                              "assigned_to", "team") if data.get(k) not in (None, "")}
        qs = customer_selectors.customer_list(user=user, filters=passed, request=request)
        if data.get("country"):
            qs = qs.filter(country=data["country"].upper())
        if data.get("source"):
            qs = qs.filter(source=data["source"])
        if data.get("group"):
            qs = qs.filter(group_id=data["group"])
        if data.get("registered_from"):
            qs = qs.filter(registered_at__gte=_day_start(data["registered_from"]))
        if data.get("registered_to"):
            qs = qs.filter(registered_at__lt=_day_start(data["registered_to"] + timedelta(days=1)))
        if data.get("active_from"):
            qs = qs.filter(last_activity_at__gte=_day_start(data["active_from"]))
        if data.get("active_to"):
            qs = qs.filter(last_activity_at__lt=_day_start(data["active_to"] + timedelta(days=1)))
        return qs


# --- the task list ---------------------------------------------------------------------------------------------------

TASK_LIST = ListSpec(
    sorts={"due": ("due_at",), "title": ("title",), "customer": ("customer__last_name", "customer__first_name"),
           "assignee": ("assignee__last_name", "assignee__first_name"), "created": ("created_at",)},
    default_sort="due", labels={"due": "Due", "title": "Task"})
