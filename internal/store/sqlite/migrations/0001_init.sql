-- gridminer schema version 1.
-- Times are Unix nanoseconds (INTEGER, UTC); durations are nanoseconds.
-- Money is integer micro-dollars, bitcoin integer millisatoshis.

CREATE TABLE telemetry (
    id               INTEGER PRIMARY KEY,
    miner_id         TEXT    NOT NULL,
    time_ns          INTEGER NOT NULL,
    state            TEXT    NOT NULL,
    power_w          REAL    NOT NULL,
    power_estimated  INTEGER NOT NULL,
    power_target_w   REAL    NOT NULL,
    profile          TEXT    NOT NULL,
    hashrate_ths     REAL    NOT NULL,
    hashrate_avg_ths REAL    NOT NULL,
    temp_max_c       REAL    NOT NULL,
    fan_rpm          TEXT,             -- NULL: none reported; '': empty list; else comma-separated
    boards           INTEGER NOT NULL,
    boards_active    INTEGER NOT NULL,
    uptime_ns        INTEGER NOT NULL,
    accepted         INTEGER NOT NULL, -- uint64 stored as its int64 bit pattern
    rejected         INTEGER NOT NULL, -- likewise
    err              TEXT    NOT NULL
) STRICT;

CREATE INDEX telemetry_miner_time ON telemetry (miner_id, time_ns);
CREATE INDEX telemetry_time ON telemetry (time_ns);

CREATE TABLE decisions (
    id                INTEGER PRIMARY KEY,
    time_ns           INTEGER NOT NULL,
    interval_start_ns INTEGER NOT NULL,
    interval_end_ns   INTEGER NOT NULL,
    policy            TEXT    NOT NULL,
    price             REAL    NOT NULL,
    breakeven         REAL    NOT NULL,
    planned_power_w   REAL    NOT NULL,
    reason            TEXT    NOT NULL,
    setpoints         TEXT              -- JSON array of {"m","o","p","r"}; NULL when nil
) STRICT;

CREATE INDEX decisions_time ON decisions (time_ns);

CREATE TABLE ledger (
    interval_start_ns INTEGER PRIMARY KEY,
    interval_end_ns   INTEGER NOT NULL,
    energy_wh         REAL    NOT NULL,
    avg_power_w       REAL    NOT NULL,
    avg_hashrate_ths  REAL    NOT NULL,
    covered_ns        INTEGER NOT NULL,
    price             REAL    NOT NULL,
    cost_micros       INTEGER NOT NULL,
    btc_msat          INTEGER NOT NULL,
    btc_price_usd     REAL    NOT NULL,
    revenue_micros    INTEGER NOT NULL,
    net_micros        INTEGER NOT NULL
) STRICT;
