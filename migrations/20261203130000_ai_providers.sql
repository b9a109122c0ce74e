-- The AI provider a guild chose for its Pulse Report, and its API key
-- encrypted at rest: XChaCha20-Poly1305 under the operator's master key
-- (SERVERPULSE_MASTER_KEY), a random nonce per encryption, and the guild id
-- and provider as associated data, so a ciphertext copied to another guild
-- or provider does not decrypt. The plaintext key is never stored.
create table ai_providers (
    guild_id       bigint primary key,
    provider       text not null,
    model          text not null,
    -- all null until a key is set; a new provider drops the old one's key
    key_sealed bytea,
    key_nonce      bytea,
    -- which master key encrypted it (a fingerprint, not the key)
    key_version    text,
    -- the key's last 4 characters, the only part ever shown
    key_last4      text,
    updated_at     timestamptz not null,
    check ((key_sealed is null) = (key_nonce is null)
           and (key_sealed is null) = (key_version is null)
           and (key_sealed is null) = (key_last4 is null))
);
-- rotate-keys walks the primary key in guild order, skipping keys
-- already under the current master key.
