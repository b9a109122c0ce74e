-- Two flushes that need a month's partitions at once (two ingester shards
-- at the first flush of a month, or the ingester and a history import)
-- both found them missing, and the second's CREATE TABLE IF NOT EXISTS
-- waited for the first's catalogue rows and then failed with
-- "relation already exists" (42P07), failing its flush. Now the second
-- takes the first's partitions: the error of a partition created meanwhile
-- is caught, each table on its own.
create or replace function serverpulse_ensure_partitions(instant timestamptz) returns void
language plpgsql as $$
declare
    month_start timestamptz := date_trunc('month', instant at time zone 'UTC') at time zone 'UTC';
    month_end   timestamptz := (date_trunc('month', instant at time zone 'UTC') + interval '1 month') at time zone 'UTC';
    suffix      text := to_char(instant at time zone 'UTC', 'YYYYMM');
    parent      text;
begin
    foreach parent in array array['message_rollup', 'reaction_rollup', 'voice_rollup',
                                  'voice_peak_rollup', 'deletion_rollup', 'guild_hourly']
    loop
        if to_regclass(format('%I', parent || '_' || suffix)) is null then
            begin
                execute format('create table if not exists %I partition of %I for values from (%L) to (%L)'
                               ' with (fillfactor = 75)',
                               parent || '_' || suffix, parent, month_start, month_end);
            exception when duplicate_table or unique_violation then
                -- created by another transaction meanwhile: it is there now
                null;
            end;
        end if;
    end loop;
end;
$$;
