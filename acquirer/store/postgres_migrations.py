"""The schema of the PostgreSQL store (:mod:`acquirer.store.postgres`), as ordered migrations.

Versioned like the SQLite one (:mod:`acquirer.store.sqlite_migrations`): :data:`MIGRATIONS`
holds one list of SQL statements per version; migration *n* brings the schema from version
*n - 1* to *n*. Add a step at the end, never edit a released one.
"""

from __future__ import annotations

#: Bike tariffs, rentals, riders' debts (with their own journals), rental requests.
_migration_rentals: tuple[str, ...] = (
    """CREATE TABLE tariffs (
        merchant_id text PRIMARY KEY REFERENCES merchants (id),
        tariff_json text NOT NULL,
        updated_at timestamptz NOT NULL
    )""",
    """CREATE TABLE rentals (
        id text PRIMARY KEY,
        merchant_id text NOT NULL,
        terminal_id text NOT NULL,
        dock_id text NOT NULL,
        bike_id text NOT NULL,
        par text,
        authorization_id text,
        payment_id text REFERENCES payments (id),
        state text NOT NULL,
        tariff_json text NOT NULL,
        deposit bigint NOT NULL,
        currency text NOT NULL,
        offline boolean NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        started_at timestamptz,
        ended_at timestamptz,
        end_terminal_id text,
        end_dock_id text,
        fare bigint,
        captured bigint NOT NULL,
        debt bigint NOT NULL,
        minutes integer,
        lost boolean NOT NULL,
        cancel_reason text,
        active_par text UNIQUE,
        active_bike text UNIQUE
    )""",
    "CREATE INDEX rentals_merchant_par_state ON rentals (merchant_id, par, state)",
    "CREATE INDEX rentals_merchant_bike_state ON rentals (merchant_id, bike_id, state)",
    """CREATE TABLE debts (
        id text PRIMARY KEY,
        rental_id text NOT NULL REFERENCES rentals (id),
        merchant_id text NOT NULL,
        par text,
        amount bigint NOT NULL,
        currency text NOT NULL,
        status text NOT NULL,
        created_at timestamptz NOT NULL,
        paid_at timestamptz,
        payment_id text
    )""",
    "CREATE INDEX debts_par_status ON debts (par, status)",
    "CREATE INDEX debts_merchant_status ON debts (merchant_id, status)",
    """CREATE TABLE debt_journals (
        id text PRIMARY KEY,
        debt_id text NOT NULL REFERENCES debts (id),
        request_id text NOT NULL,
        kind text NOT NULL,
        currency text NOT NULL,
        created_at timestamptz NOT NULL
    )""",
    """CREATE TABLE debt_postings (
        journal_id text NOT NULL REFERENCES debt_journals (id),
        line integer NOT NULL,
        account text NOT NULL,
        amount bigint NOT NULL,
        PRIMARY KEY (journal_id, line)
    )""",
    """CREATE TABLE bike_requests (
        id text PRIMARY KEY,
        terminal_id text NOT NULL,
        idempotency_key text NOT NULL,
        kind text NOT NULL,
        request_hash text NOT NULL,
        response_json text NOT NULL,
        created_at timestamptz NOT NULL,
        UNIQUE (terminal_id, idempotency_key)
    )""",
)

#: Parcel lockers: compartments, storage fees, parcels, their operations and audit trail.
_migration_parcels = (
    """CREATE TABLE compartments (
        locker_id text NOT NULL REFERENCES terminals (id),
        compartment_id text NOT NULL,
        number integer NOT NULL,
        size text NOT NULL,
        status text NOT NULL,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (locker_id, compartment_id)
    )""",
    """CREATE TABLE storage_fees (
        merchant_id text PRIMARY KEY REFERENCES merchants (id),
        currency text NOT NULL,
        free_hours integer NOT NULL,
        fee_per_started_day bigint NOT NULL,
        updated_at timestamptz NOT NULL
    )""",
    """CREATE TABLE parcels (
        id text PRIMARY KEY,
        locker_id text NOT NULL,
        compartment_id text NOT NULL,
        courier_terminal_id text NOT NULL,
        reference text NOT NULL,
        recipient_par text,
        code_salt bytea,
        code_hash bytea,
        cod_amount bigint NOT NULL,
        currency text NOT NULL,
        fee_free_hours integer,
        fee_per_started_day bigint,
        state text NOT NULL,
        registered_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        pay_armed_until timestamptz,
        released_at timestamptz,
        opened_at timestamptz,
        collected_at timestamptz,
        payment_id text REFERENCES payments (id),
        amount_paid bigint NOT NULL,
        storage_fee_paid bigint NOT NULL,
        jams integer NOT NULL
    )""",
    "CREATE INDEX parcels_locker_state ON parcels (locker_id, state)",
    "CREATE INDEX parcels_par_locker_state ON parcels (recipient_par, locker_id, state)",
    """CREATE UNIQUE INDEX parcels_one_per_compartment ON parcels (locker_id, compartment_id)
        WHERE state IN ('waiting', 'released', 'opened')""",
    """CREATE TABLE parcel_operations (
        id text PRIMARY KEY,
        terminal_id text NOT NULL,
        idempotency_key text NOT NULL,
        kind text NOT NULL,
        parcel_id text,
        request_hash text NOT NULL,
        response_json text NOT NULL,
        created_at timestamptz NOT NULL,
        UNIQUE (terminal_id, idempotency_key)
    )""",
    """CREATE TABLE audit_events (
        id text PRIMARY KEY,
        at timestamptz NOT NULL,
        terminal_id text NOT NULL,
        action text NOT NULL,
        locker_id text NOT NULL,
        parcel_id text,
        detail text NOT NULL
    )""",
    "CREATE INDEX audit_events_parcel_at ON audit_events (parcel_id, at)",
    "CREATE INDEX audit_events_locker_at ON audit_events (locker_id, at)",
    """CREATE TABLE locker_code_guards (
        locker_id text PRIMARY KEY,
        failures integer NOT NULL,
        locked_until timestamptz
    )""",
)

#: Ordered schema migrations; index 0 produces schema version 1.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE tokens (
            token text PRIMARY KEY,
            pan_enc bytea NOT NULL,
            pan_fingerprint bytea NOT NULL,
            pan_masked text NOT NULL,
            par text NOT NULL,
            expiry text NOT NULL,
            psn text NOT NULL,
            scheme text NOT NULL,
            status text NOT NULL,
            created_at timestamptz NOT NULL
        )""",
        "CREATE INDEX tokens_pan_fingerprint ON tokens (pan_fingerprint)",
        """CREATE TABLE authorizations (
            id text PRIMARY KEY,
            terminal_id text NOT NULL,
            idempotency_key text NOT NULL,
            request_hash text NOT NULL,
            amount bigint NOT NULL,
            currency text NOT NULL,
            token_masked text NOT NULL,
            par text,
            atc integer,
            approved boolean NOT NULL,
            reason text NOT NULL,
            response_code text NOT NULL,
            response_json text NOT NULL,
            created_at timestamptz NOT NULL,
            UNIQUE (terminal_id, idempotency_key)
        )""",
        """CREATE TABLE atc_claims (
            token text NOT NULL REFERENCES tokens (token),
            atc integer NOT NULL,
            authorization_id text NOT NULL REFERENCES authorizations (id),
            PRIMARY KEY (token, atc)
        )""",
    ),
    (
        """CREATE TABLE payments (
            id text PRIMARY KEY REFERENCES authorizations (id),
            terminal_id text NOT NULL,
            intent text NOT NULL,
            currency text NOT NULL,
            par text,
            token_masked text NOT NULL,
            authorized bigint NOT NULL,
            captured bigint NOT NULL,
            refunded bigint NOT NULL,
            status text NOT NULL,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL
        )""",
        """CREATE TABLE operations (
            id text PRIMARY KEY,
            terminal_id text NOT NULL,
            idempotency_key text NOT NULL,
            kind text NOT NULL,
            payment_id text NOT NULL REFERENCES payments (id),
            request_hash text NOT NULL,
            response_json text NOT NULL,
            created_at timestamptz NOT NULL,
            UNIQUE (terminal_id, idempotency_key)
        )""",
        """CREATE TABLE journals (
            id text PRIMARY KEY,
            payment_id text NOT NULL REFERENCES payments (id),
            operation_id text NOT NULL,
            kind text NOT NULL,
            currency text NOT NULL,
            created_at timestamptz NOT NULL
        )""",
        "CREATE INDEX journals_payment_id ON journals (payment_id)",
        """CREATE TABLE postings (
            journal_id text NOT NULL REFERENCES journals (id),
            line integer NOT NULL,
            account text NOT NULL,
            amount bigint NOT NULL,
            PRIMARY KEY (journal_id, line)
        )""",
    ),
    (
        """CREATE TABLE merchants (
            id text PRIMARY KEY,
            name text NOT NULL,
            mcc text NOT NULL,
            currency text NOT NULL,
            settlement_account text NOT NULL,
            created_at timestamptz NOT NULL
        )""",
        """CREATE TABLE terminals (
            id text PRIMARY KEY,
            merchant_id text NOT NULL REFERENCES merchants (id),
            actions text NOT NULL,
            status text NOT NULL,
            cert_serial text,
            created_at timestamptz NOT NULL
        )""",
        "ALTER TABLE tokens ADD COLUMN allowed_mccs text",
    ),
    (
        """CREATE TABLE batches (
            id text PRIMARY KEY,
            scope text NOT NULL,
            scope_id text NOT NULL,
            idempotency_key text NOT NULL,
            closed_at timestamptz NOT NULL,
            totals_json text NOT NULL,
            UNIQUE (scope, scope_id, idempotency_key)
        )""",
        "ALTER TABLE journals ADD COLUMN batch_id text",
        "CREATE INDEX journals_batch_id ON journals (batch_id)",
        """CREATE FUNCTION tap_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'a closed settlement batch or a settled journal cannot change';
        END $$""",
        """CREATE TRIGGER batches_immutable BEFORE UPDATE OR DELETE ON batches
            FOR EACH ROW EXECUTE FUNCTION tap_refuse_change()""",
        """CREATE TRIGGER settled_journals_immutable BEFORE UPDATE ON journals
            FOR EACH ROW WHEN (OLD.batch_id IS NOT NULL) EXECUTE FUNCTION tap_refuse_change()""",
        """CREATE TABLE deny_list (
            par text PRIMARY KEY,
            reason text NOT NULL,
            created_at timestamptz NOT NULL
        )""",
        "CREATE TABLE mcc_limits (mcc text PRIMARY KEY, max_amount bigint NOT NULL)",
        "CREATE INDEX authorizations_par_approved_created_at ON authorizations (par, approved, created_at)",
    ),
    _migration_rentals,
    _migration_parcels,
)
