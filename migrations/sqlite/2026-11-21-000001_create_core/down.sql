DROP TABLE conversation_items;
DROP TABLE conversations;
DROP TABLE organisations;
