/* finops_usage--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION finops_usage" to load this file. \quit

CREATE FUNCTION finops_usage_handler()
RETURNS fdw_handler
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;

CREATE FUNCTION finops_usage_validator(text[], oid)
RETURNS void
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;

CREATE FOREIGN DATA WRAPPER finops_usage
  HANDLER finops_usage_handler
  VALIDATOR finops_usage_validator;

COMMENT ON FOREIGN DATA WRAPPER finops_usage IS
  'cloud cost and usage APIs (AWS Cost Explorer, ...) as foreign tables';
