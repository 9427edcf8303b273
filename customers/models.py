from __future__ import annotations

from django.contrib.auth.hashers import check_password, make_password
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, FSMModelMixin, transition
from guardian.models import UserObjectPermissionBase

from brokercrm.actors import SYSTEM, actor_check
from brokercrm.fsm import StateFieldsOnce
from teams.models import subtree_q
from teams.selectors import team_paths_for

from .pipelines import PIPELINES, FinanceStatus, KycStatus, SalesStatus


class Source(models.TextChoices):
    ORGANIC = "organic"
    AFFILIATE = "affiliate"
    PROMO = "promo"
    IMPORT = "import"
    BACKOFFICE = "backoffice"


class RetentionClass(models.TextChoices):
    ACTIVE = "active"
    CHURNING = "churning"
    DORMANT = "dormant"


class CustomerGroup(models.Model):
    """A segment customers join at registration (per path, promo code or import row)."""

    name = models.CharField(max_length=80, unique=True)
    description = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RegistrationPath(models.Model):
    """Per-source registration settings: default group, which fraud gates run, allowed countries, rate limit."""

    source = models.CharField(max_length=12, choices=Source.choices, unique=True)
    enabled = models.BooleanField(default=True)
    default_group = models.ForeignKey(CustomerGroup, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    check_disposable = models.BooleanField(default=True)
    check_duplicates = models.BooleanField(default=True)
    allowed_countries = models.JSONField(default=list, blank=True, help_text="ISO codes; empty allows every country.")
    rate_limit = models.CharField(max_length=20, default="20/min", help_text="Per client address, e.g. 20/min.")

    class Meta:
        ordering = ["source"]

    def __str__(self) -> str:
        return self.source


class FraudSettings(models.Model):
    """The one row of fraud-gate settings: duplicate weights and thresholds, disposable-domain lists."""

    weight_affiliate_lead_id = models.PositiveSmallIntegerField(default=10)
    weight_email = models.PositiveSmallIntegerField(default=4)
    weight_phone = models.PositiveSmallIntegerField(default=3)
    weight_country = models.PositiveSmallIntegerField(default=1)
    reject_threshold = models.PositiveSmallIntegerField(default=4)
    flag_threshold = models.PositiveSmallIntegerField(default=3)
    blocked_domains = models.JSONField(default=list, blank=True)
    allowed_domains = models.JSONField(default=list, blank=True)
    strict_phone_validation = models.BooleanField(
        default=True, help_text="Refuse numbers phonenumbers does not consider valid (else: only possible ones)."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "fraud settings"

    def __str__(self) -> str:
        return "Fraud settings"

    @classmethod
    def current(cls) -> FraudSettings:
        return cls.objects.order_by("pk").first() or cls.objects.create()


class PromoCode(models.Model):
    """A code that puts a registering customer into a group; case-insensitive, windowed, counted uses."""

    code = models.CharField(max_length=40)
    group = models.ForeignKey(CustomerGroup, on_delete=models.PROTECT, related_name="promo_codes")
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True)
    uses = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(models.functions.Upper("code"), name="promo_code_ci_unique",
                                    violation_error_message="A promo code with this code exists."),
            models.CheckConstraint(condition=Q(max_uses__isnull=True) | Q(uses__lte=models.F("max_uses")),
                                   name="promo_uses_within_max"),
        ]

    def __str__(self) -> str:
        return self.code


class Affiliate(models.Model):
    """A partner registering customers server-to-server with an API key (stored hashed)."""

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    api_key_hash = models.CharField(max_length=64, unique=True, editable=False)
    group = models.ForeignKey(CustomerGroup, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class CustomerOwnedQuerySet(models.QuerySet):
    """THE scope of everything that hangs off a customer (NetBox's `restrict()`): notes, activity, tasks,
    transactions, trading accounts, messages, payment attempts, … are visible or editable exactly when their customer
    is (`Customer.objects.visible_to` / `editable_by`). The model declares the path to its customer as
    `customer_path` ("customer" when it has the foreign key itself, e.g. "transaction__customer" for a payment
    attempt); rows without a customer are outside every staff scope. `SYSTEM` sees everything; `None` raises.

    Give every new model with a customer (directly or through another customer-owned model) this queryset:
    customers.tests.test_scoping walks the models and fails otherwise."""

    def customer_path(self) -> str:
        return getattr(self.model, "customer_path", "customer")

    def _through_customer(self, customers: CustomerQuerySet) -> models.Q:
        return Q(**{f"{self.customer_path()}__in": customers})

    def visible_to(self, user):
        """Rows whose customer `user` may see."""
        actor_check(user)
        if user is SYSTEM:
            return self
        customers = Customer.objects.scope_for(user)
        if customers is None:  # every customer (scope "all", superusers): no subquery over the customers
            return self.filter(**{f"{self.customer_path()}__isnull": False})
        return self.filter(self._through_customer(customers))

    def editable_by(self, user):
        """Rows whose customer `user` may change."""
        actor_check(user)
        if user is SYSTEM:
            return self
        return self.filter(self._through_customer(Customer.objects.editable_by(user)))


class AutologinToken(models.Model):
    """A single-use, 72-hour link into the client area for an affiliate registration; only its hash is stored."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="autologin_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = CustomerOwnedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"autologin for customer #{self.customer_id}"


class CustomerQuerySet(models.QuerySet):
    """Visibility lives here: every view, page, export, search, SSE check and job starts from these."""

    def _scoped(self, user, scope: str, grant_codename: str) -> CustomerQuerySet:
        actor_check(user)
        if user is SYSTEM:
            return self
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        if user.is_superuser or scope == "all":
            return self
        granted = Q(
            pk__in=CustomerUserObjectPermission.objects.filter(
                user=user, permission__codename=grant_codename
            ).values("content_object_id")
        )
        if scope == "team":
            return self.filter(subtree_q(team_paths_for(user=user)) | Q(assigned_to=user) | granted)
        if scope == "own":
            return self.filter(Q(assigned_to=user) | granted)
        return self.filter(granted)

    def visible_to(self, user) -> CustomerQuerySet:
        """Customers `user` may see: own = assigned to them; team = in their team subtrees; all; plus grants."""
        role = getattr(user, "role", None)
        return self._scoped(user, role.customer_view_scope if role else "none", "view_customer")

    def scope_for(self, user) -> CustomerQuerySet | None:
        """`visible_to(user)` as a condition on rows that hang off a customer: None when it is every customer
        (nothing to add), else the customers to restrict to (an empty queryset raises EmptyResultSet when
        compiled). Used by `CustomerOwnedQuerySet.visible_to` and by fixed SQL that applies the same scope."""
        customers = self.visible_to(user)
        return None if not customers.query.where else customers

    def editable_by(self, user) -> CustomerQuerySet:
        """Customers `user` may change, by their edit scope (none/own/team/all) plus explicit change grants.

        Always a subset of what they may see."""
        role = getattr(user, "role", None)
        editable = self._scoped(user, role.customer_edit_scope if role else "none", "change_customer")
        if user is SYSTEM or getattr(user, "is_superuser", False):
            return editable
        return editable.filter(pk__in=self.visible_to(user).values("pk"))


def _pipeline_transitions(fields: dict[str, FSMField]) -> dict[str, object]:
    """Generate one django-fsm transition method per (pipeline, target) from `pipelines.PIPELINES`."""
    methods: dict[str, object] = {}
    for pipeline in PIPELINES.values():
        for target, sources in pipeline.moves.items():

            def move(self) -> None:
                """Guards only; side effects live in customers.services.customer_transition."""

            move.__name__ = f"{pipeline.name}_to_{target}"
            methods[move.__name__] = transition(
                field=fields[pipeline.field],
                source="*" if "*" in sources else list(sources),
                target=target,
                permission=pipeline.permission,
            )(move)
    return methods


class Customer(StateFieldsOnce, ConcurrentTransitionMixin, FSMModelMixin, models.Model):
    """A retail client of the broker: identity, origin, ownership, pipeline statuses and retention class."""

    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    email = models.CharField(max_length=254, help_text="As given at registration.")
    email_canonical = models.CharField(max_length=254, editable=False, help_text="Lower-cased, +tag-free key.")
    # Indexed in Meta (customer_phone_idx): a plain b-tree only. `db_index=True` also made a varchar_pattern_ops
    # copy for LIKE 'prefix%', which no query uses (the search is `phone__contains`, '%digits%': no b-tree helps).
    phone = models.CharField(max_length=20, blank=True, help_text="E.164.")
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2.")
    locale = models.CharField(max_length=16, default="en")
    password = models.CharField(max_length=128, blank=True)

    source = models.CharField(max_length=12, choices=Source.choices, default=Source.ORGANIC)
    group = models.ForeignKey(CustomerGroup, null=True, blank=True, on_delete=models.PROTECT, related_name="customers")
    affiliate = models.ForeignKey(Affiliate, null=True, blank=True, on_delete=models.PROTECT, related_name="customers")
    # None = no lead id (the API shows null); "" instead would change the API and need a data migration.
    affiliate_lead_id = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    promo_code = models.ForeignKey(PromoCode, null=True, blank=True, on_delete=models.PROTECT, related_name="customers")
    marketing_consent = models.BooleanField(default=False)

    # No single-column index of their own: customer_assigned_idx and customer_team_idx (Meta) start with them and
    # serve every lookup by them (lists, the SET NULL on delete).
    assigned_to = models.ForeignKey(
        "teams.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_customers",
        db_index=False,
    )
    team = models.ForeignKey("teams.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="customers",
                             db_index=False)

    possible_duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="possible_duplicates"
    )
    duplicate_score = models.PositiveSmallIntegerField(default=0)

    sales_status = FSMField(default=SalesStatus.NEW, choices=SalesStatus.choices, protected=True, max_length=20)
    kyc_status = FSMField(default=KycStatus.NOT_SUBMITTED, choices=KycStatus.choices, protected=True, max_length=20)
    finance_status = FSMField(
        default=FinanceStatus.NO_DEPOSIT, choices=FinanceStatus.choices, protected=True, max_length=20
    )
    # Not indexed on purpose: with free space on each page (fillfactor, see migrations) a retention run's
    # updates are HOT and touch no index at all; filtering by class rides on other filters or a scan.
    retention_class = models.CharField(max_length=10, choices=RetentionClass.choices, default=RetentionClass.ACTIVE)

    registered_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_login_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    last_deposit_at = models.DateTimeField(null=True, blank=True)

    objects = CustomerQuerySet.as_manager()

    locals().update(_pipeline_transitions({"sales_status": sales_status, "kyc_status": kyc_status,
                                           "finance_status": finance_status}))

    class Meta:
        ordering = ["-registered_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["email_canonical"],
                name="customer_email_canonical_unique",
                violation_error_message="A customer with this email already exists.",
            ),
        ]
        indexes = [
            models.Index(fields=["affiliate_lead_id"], name="customer_aff_lead_idx"),
            models.Index(fields=["phone"], name="customer_phone_idx"),
            models.Index(fields=["assigned_to", "-registered_at"], name="customer_assigned_idx"),
            models.Index(fields=["team", "-registered_at"], name="customer_team_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name} (#{self.pk})"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def set_password(self, raw: str | None) -> None:
        self.password = make_password(raw) if raw else ""

    def check_password(self, raw: str) -> bool:
        return bool(self.password) and check_password(raw, self.password)

    def status_of(self, pipeline: str) -> str:
        return getattr(self, PIPELINES[pipeline].field)


class CustomerUserObjectPermission(UserObjectPermissionBase):
    """An explicit per-object grant (django-guardian, direct foreign key): sharing one customer with one agent."""

    content_object = models.ForeignKey(Customer, on_delete=models.CASCADE)


class Activity(models.Model):
    """One thing that happened to a customer, for the activity feed. Append-only.

    `data` never holds raw email or phone: renderers mask per viewer from the customer row instead."""

    # Indexed by activity_customer_keyset (Meta), which starts with it.
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="activities", db_index=False)
    actor = models.ForeignKey("teams.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    verb = models.CharField(max_length=64)
    summary = models.CharField(max_length=255, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = CustomerOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-created_at", "-id"], name="activity_customer_keyset"),
            models.Index(fields=["-created_at", "-id"], name="activity_keyset"),
        ]

    def __str__(self) -> str:
        return f"{self.verb} on customer #{self.customer_id}"


# Django registers the models its app's `models` module imports; the KYC models (customers/kyc/models.py) import the
# ones above, so they can only be imported last.
from .kyc.models import KycApplicant, KycDocument, KycSettings  # noqa: E402, F401
