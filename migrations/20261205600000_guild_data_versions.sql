-- What a guild's reports are computed from, as one number: the web
-- endpoint's answer cache keys every finished answer on it, so an answer is
-- never served once anything it was computed from has changed.
--
-- The ingester's flush transaction sets it for every guild the batch
-- touches (rollups, catalogue, gaps); the triggers below set it on every
-- write to the settings, privacy, retention and access rows reports read;
-- the retention job sets it for every guild after dropping whole months.
-- Values come from one sequence, so a version is never reused, even after a
-- guild's row is erased and written again: an entry cached under an old
-- value can never match again.
create sequence guild_data_version_seq;

create table guild_data_versions (
    guild_id bigint primary key,
    version  bigint not null
);

create function serverpulse_bump_data_version() returns trigger
language plpgsql as $$
begin
    insert into guild_data_versions (guild_id, version)
    values ((case when tg_op = 'DELETE' then old.guild_id else new.guild_id end),
            nextval('guild_data_version_seq'))
    on conflict (guild_id) do update set version = excluded.version;
    return null;
end;
$$;

create trigger guild_settings_data_version
    after insert or update or delete on guild_settings
    for each row execute function serverpulse_bump_data_version();
create trigger guild_collected_channels_data_version
    after insert or update or delete on guild_collected_channels
    for each row execute function serverpulse_bump_data_version();
create trigger member_privacy_data_version
    after insert or update or delete on member_privacy
    for each row execute function serverpulse_bump_data_version();
create trigger member_opt_outs_data_version
    after insert or update or delete on member_opt_outs
    for each row execute function serverpulse_bump_data_version();
create trigger guild_retention_data_version
    after insert or update or delete on guild_retention
    for each row execute function serverpulse_bump_data_version();
create trigger guild_access_data_version
    after insert or update or delete on guild_access
    for each row execute function serverpulse_bump_data_version();

-- Guilds with settings get a version now; a guild without one is never
-- cached (see web/src/answers.rs) until something writes one.
insert into guild_data_versions (guild_id, version)
select guild_id, nextval('guild_data_version_seq') from guild_settings;
