-- Events, messages and transactions name their creator twice: creator_id references creators, and
-- (creator_id, fan_id) references fans (creator_id, id), whose row references its creator. The second implies
-- the first, yet each was checked for every inserted row (a history import inserts tens of thousands a second,
-- and each check is a query). The check against creators goes; deleting a creator still deletes these rows,
-- now through its fans (the fan key cascades). A fan deleted with its history takes that history with it
-- (before, such a delete was refused; nothing in the service deletes fans that have events).
ALTER TABLE events
    DROP CONSTRAINT events_creator_id_fkey,
    DROP CONSTRAINT events_creator_id_fan_id_fkey,
    ADD CONSTRAINT events_creator_id_fan_id_fkey FOREIGN KEY (creator_id, fan_id)
        REFERENCES fans (creator_id, id) ON DELETE CASCADE;
ALTER TABLE messages
    DROP CONSTRAINT messages_creator_id_fkey,
    DROP CONSTRAINT messages_creator_id_fan_id_fkey,
    ADD CONSTRAINT messages_creator_id_fan_id_fkey FOREIGN KEY (creator_id, fan_id)
        REFERENCES fans (creator_id, id) ON DELETE CASCADE;
ALTER TABLE transactions
    DROP CONSTRAINT transactions_creator_id_fkey,
    DROP CONSTRAINT transactions_creator_id_fan_id_fkey,
    ADD CONSTRAINT transactions_creator_id_fan_id_fkey FOREIGN KEY (creator_id, fan_id)
        REFERENCES fans (creator_id, id) ON DELETE CASCADE;
