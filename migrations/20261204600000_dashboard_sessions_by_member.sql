-- Dashboard sessions by guild and member: `/dashboard revoke` deletes a
-- guild's sessions and `/privacy delete` one member's, both through this
-- index rather than a scan of every guild's sessions.
create index dashboard_sessions_member_idx on dashboard_sessions (guild_id, user_id);
