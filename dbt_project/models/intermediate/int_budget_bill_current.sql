-- Current budget-bill lines: the newest file of each budget book (REF_DOC).
{{ newest_file_rows('stg_budget_bill', 'ref_doc') }}
