-- Wakes the outbox workers when there is something to send: a new pending
-- item or a requested edit notifies channel serverpulse_outbox at commit
-- (identical notifications of one transaction are delivered once), so an
-- alert is posted within moments instead of at the next polling round.
create function serverpulse_notify_outbox() returns trigger
language plpgsql as $$
begin
    perform pg_notify('serverpulse_outbox', '');
    return null;
end;
$$;

create trigger outbox_notify
    after insert or update of state, revision on outbox
    for each row when (new.state = 'pending')
    execute function serverpulse_notify_outbox();
