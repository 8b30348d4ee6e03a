"""The lineage closure table (genealogy.LineageClosure) and the PostgreSQL triggers that keep it: whole families and
first pages of descendants are read from an index instead of walked edge by edge (genealogy.lineage).

Triggers rather than Python: remix writes the edges and must not import genealogy, and a trigger also follows bulk
inserts, cascaded deletes and raw SQL. Existing edges are backfilled; reversing drops the triggers and the table.
"""

import django.db.models.deletion
from django.db import migrations, models

# 'published' is remix.models.NodeStatus.PUBLISHED (tests/genealogy/test_closure.py checks they agree).
FORWARD_SQL = r"""
-- Link one new edge: every ancestor of the parent (and the parent) reaches every descendant of the child (and the
-- child) in (its distance to the parent) + 1 + (the child's distance to it) steps, unless it already did sooner.
CREATE FUNCTION genealogy_closure_link(parent bigint, child bigint) RETURNS void LANGUAGE sql AS $$
    INSERT INTO genealogy_lineage_closure AS c (ancestor_id, descendant_id, depth, descendant_published)
    SELECT a.id, d.id, a.depth + 1 + d.depth, d.published
    FROM (
        SELECT parent AS id, 0 AS depth
        UNION ALL
        SELECT ancestor_id, depth FROM genealogy_lineage_closure WHERE descendant_id = parent
    ) a
    CROSS JOIN (
        SELECT n.id, 0 AS depth, n.status = 'published' AS published FROM remix_remixnode n WHERE n.id = child
        UNION ALL
        SELECT descendant_id, depth, descendant_published FROM genealogy_lineage_closure WHERE ancestor_id = child
    ) d
    ON CONFLICT (descendant_id, ancestor_id) DO UPDATE SET depth = LEAST(c.depth, EXCLUDED.depth)
$$;

-- Work out again the ancestors of `nodes` and of all their descendants, from the edges as they are now (after
-- edges were removed, or their ends changed). The rows of every other node are right already, so a walk up the
-- edges stops at the first node outside the affected set and takes that node's ancestors from the table.
CREATE FUNCTION genealogy_closure_rebuild(nodes bigint[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    affected bigint[];
BEGIN
    SELECT array_agg(DISTINCT id) INTO affected FROM (
        SELECT unnest(nodes) AS id
        UNION
        SELECT c.descendant_id FROM genealogy_lineage_closure c WHERE c.ancestor_id = ANY (nodes)
    ) s;
    IF affected IS NULL THEN
        RETURN;
    END IF;
    DELETE FROM genealogy_lineage_closure c USING unnest(affected) a(id) WHERE c.descendant_id = a.id;
    INSERT INTO genealogy_lineage_closure (ancestor_id, descendant_id, depth, descendant_published)
    WITH RECURSIVE inside(id) AS MATERIALIZED (
        SELECT unnest(affected)
    ), up(descendant_id, node_id, depth, node_inside) AS (
        SELECT m.child_id, m.parent_id, 1, m.parent_id IN (SELECT id FROM inside)
        FROM remix_mutation m JOIN inside i ON i.id = m.child_id
      UNION
        SELECT up.descendant_id, m.parent_id, up.depth + 1, m.parent_id IN (SELECT id FROM inside)
        FROM up JOIN remix_mutation m ON m.child_id = up.node_id
        WHERE up.node_inside
    ), reached(descendant_id, ancestor_id, depth) AS (
        SELECT descendant_id, node_id, depth FROM up
      UNION ALL
        SELECT up.descendant_id, c.ancestor_id, up.depth + c.depth
        FROM up JOIN genealogy_lineage_closure c ON c.descendant_id = up.node_id
        WHERE NOT up.node_inside
    )
    SELECT r.ancestor_id, r.descendant_id, MIN(r.depth), n.status = 'published'
    FROM reached r JOIN remix_remixnode n ON n.id = r.descendant_id
    GROUP BY r.ancestor_id, r.descendant_id, n.status;
END
$$;

CREATE FUNCTION genealogy_closure_edges_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    edge record;
BEGIN
    -- One edge at a time: each link reads the rows the previous ones wrote (a bulk insert may add a chain).
    FOR edge IN SELECT parent_id, child_id FROM new_edges ORDER BY id LOOP
        PERFORM genealogy_closure_link(edge.parent_id, edge.child_id);
    END LOOP;
    RETURN NULL;
END
$$;

CREATE FUNCTION genealogy_closure_edges_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM genealogy_closure_rebuild(ARRAY(SELECT DISTINCT child_id FROM old_edges));
    RETURN NULL;
END
$$;

-- Edges' ends never change in the application (remix.lineage.mutation_update changes their types and profile);
-- should they, the closure below both children is worked out again.
CREATE FUNCTION genealogy_closure_edges_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM genealogy_closure_rebuild(ARRAY(
        SELECT o.child_id FROM old_edges o JOIN new_edges n USING (id)
        WHERE (o.parent_id, o.child_id) IS DISTINCT FROM (n.parent_id, n.child_id)
        UNION
        SELECT n.child_id FROM old_edges o JOIN new_edges n USING (id)
        WHERE (o.parent_id, o.child_id) IS DISTINCT FROM (n.parent_id, n.child_id)
    ));
    RETURN NULL;
END
$$;

CREATE FUNCTION genealogy_closure_edges_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM genealogy_lineage_closure;
    RETURN NULL;
END
$$;

CREATE FUNCTION genealogy_closure_node_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE genealogy_lineage_closure SET descendant_published = (NEW.status = 'published')
    WHERE descendant_id = NEW.id AND descendant_published IS DISTINCT FROM (NEW.status = 'published');
    RETURN NULL;
END
$$;

CREATE TRIGGER genealogy_closure_insert AFTER INSERT ON remix_mutation
    REFERENCING NEW TABLE AS new_edges FOR EACH STATEMENT EXECUTE FUNCTION genealogy_closure_edges_inserted();
CREATE TRIGGER genealogy_closure_delete AFTER DELETE ON remix_mutation
    REFERENCING OLD TABLE AS old_edges FOR EACH STATEMENT EXECUTE FUNCTION genealogy_closure_edges_deleted();
CREATE TRIGGER genealogy_closure_update AFTER UPDATE ON remix_mutation
    REFERENCING OLD TABLE AS old_edges NEW TABLE AS new_edges
    FOR EACH STATEMENT EXECUTE FUNCTION genealogy_closure_edges_updated();
CREATE TRIGGER genealogy_closure_truncate AFTER TRUNCATE ON remix_mutation
    FOR EACH STATEMENT EXECUTE FUNCTION genealogy_closure_edges_truncated();
CREATE TRIGGER genealogy_closure_status AFTER UPDATE OF status ON remix_remixnode
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION genealogy_closure_node_status();

-- The edges there are already: every path's length, the shortest kept.
INSERT INTO genealogy_lineage_closure (ancestor_id, descendant_id, depth, descendant_published)
WITH RECURSIVE paths(ancestor_id, descendant_id, depth) AS (
    SELECT parent_id, child_id, 1 FROM remix_mutation
  UNION
    SELECT p.ancestor_id, m.child_id, p.depth + 1 FROM paths p JOIN remix_mutation m ON m.parent_id = p.descendant_id
)
SELECT p.ancestor_id, p.descendant_id, MIN(p.depth), n.status = 'published'
FROM paths p JOIN remix_remixnode n ON n.id = p.descendant_id
GROUP BY p.ancestor_id, p.descendant_id, n.status;
ANALYZE genealogy_lineage_closure;
"""

REVERSE_SQL = """
DROP TRIGGER genealogy_closure_status ON remix_remixnode;
DROP TRIGGER genealogy_closure_truncate ON remix_mutation;
DROP TRIGGER genealogy_closure_update ON remix_mutation;
DROP TRIGGER genealogy_closure_delete ON remix_mutation;
DROP TRIGGER genealogy_closure_insert ON remix_mutation;
DROP FUNCTION genealogy_closure_node_status();
DROP FUNCTION genealogy_closure_edges_truncated();
DROP FUNCTION genealogy_closure_edges_updated();
DROP FUNCTION genealogy_closure_edges_deleted();
DROP FUNCTION genealogy_closure_edges_inserted();
DROP FUNCTION genealogy_closure_rebuild(bigint[]);
DROP FUNCTION genealogy_closure_link(bigint, bigint);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("genealogy", "0003_snapshots_real_counts"),
        ("remix", "0010_posted_url"),
    ]

    operations = [
        migrations.CreateModel(
            name="LineageClosure",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "descendant", "ancestor", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("depth", models.PositiveIntegerField(help_text="The length of the shortest path from the ancestor.")),
                ("descendant_published", models.BooleanField()),
                (
                    "ancestor",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="remix.remixnode",
                    ),
                ),
                (
                    "descendant",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="remix.remixnode",
                    ),
                ),
            ],
            options={
                "db_table": "genealogy_lineage_closure",
                "default_permissions": (),
                "indexes": [
                    models.Index(fields=["ancestor", "depth", "descendant"], name="closure_descendants"),
                    models.Index(
                        condition=models.Q(("descendant_published", False)),
                        fields=["ancestor", "depth"],
                        name="closure_unpublished",
                    ),
                ],
            },
        ),
        migrations.RunSQL(FORWARD_SQL, REVERSE_SQL),
    ]
