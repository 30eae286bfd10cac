{#-
  Data test: a staging model's row identity, its place in the file it came from, is unique: no two rows
  share (file_id, source_sheet, source_row) (a CSV has no sheet). One place for that key; every staging
  model, hand-written or generated (`dgwh templates`), names this test.

      data_tests:
        - unique_row_in_file
-#}
{% test unique_row_in_file(model) %}
    {{ test_unique_combination_of_columns(model, ["file_id", "coalesce(source_sheet, '')", "source_row"]) }}
{% endtest %}
