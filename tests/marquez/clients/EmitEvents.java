// Emits OpenLineage events with the official Java client (io.openlineage:openlineage-java), configured
// as its users configure it: Clients.newClient() reads OPENLINEAGE_CONFIG (openlineage.yml) or the
// OPENLINEAGE__TRANSPORT__* environment. Run as a single-file program:
//   java -cp '<jars>/*' EmitEvents.java NAMESPACE RUN_ID
// Sends START and COMPLETE of job `java_job` (input NAMESPACE-src/src_table, output
// NAMESPACE-src/dst_table with schema, data source and column lineage; job SQL and documentation;
// nominal time), a DatasetEvent for NAMESPACE-src/static_table and a JobEvent for `java_declared`.
// Prints the transport's configuration (a test checks gzip is on when configured).
import io.openlineage.client.Clients;
import io.openlineage.client.OpenLineage;
import io.openlineage.client.OpenLineageClient;
import java.net.URI;
import java.time.ZonedDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.UUID;

public class EmitEvents {
  public static void main(String[] args) throws Exception {
    String ns = args[0];
    UUID runId = UUID.fromString(args[1]);
    String dsNs = ns + "-src";
    OpenLineage ol = new OpenLineage(URI.create("https://example.invalid/tests/marquez/java-client"));
    ZonedDateTime start = ZonedDateTime.now(ZoneOffset.UTC).minusMinutes(2);

    var fields = List.of(
        ol.newSchemaDatasetFacetFieldsBuilder().name("reactor_id").type("INTEGER").build(),
        ol.newSchemaDatasetFacetFieldsBuilder().name("temp").type("DOUBLE").build());
    var input = ol.newInputDatasetBuilder().namespace(dsNs).name("src_table")
        .facets(ol.newDatasetFacetsBuilder().schema(ol.newSchemaDatasetFacet(fields)).build()).build();
    var lineage = ol.newColumnLineageDatasetFacetFieldsBuilder()
        .put("temp", ol.newColumnLineageDatasetFacetFieldsAdditionalBuilder()
            .inputFields(List.of(ol.newInputFieldBuilder().namespace(dsNs).name("src_table").field("temp").build()))
            .build())
        .build();
    var output = ol.newOutputDatasetBuilder().namespace(dsNs).name("dst_table")
        .facets(ol.newDatasetFacetsBuilder()
            .schema(ol.newSchemaDatasetFacet(fields))
            .dataSource(ol.newDatasourceDatasetFacetBuilder().name(dsNs).uri(URI.create("postgres://db:5432")).build())
            .columnLineage(ol.newColumnLineageDatasetFacetBuilder().fields(lineage).build())
            .build())
        .build();
    var jobFacets = ol.newJobFacetsBuilder()
        .sql(ol.newSQLJobFacetBuilder().query("INSERT INTO dst_table SELECT * FROM src_table").build())
        .documentation(ol.newDocumentationJobFacetBuilder().description("copies the readings").build())
        .build();
    var job = ol.newJobBuilder().namespace(ns).name("java_job").facets(jobFacets).build();
    var run = ol.newRunBuilder().runId(runId)
        .facets(ol.newRunFacetsBuilder().nominalTime(ol.newNominalTimeRunFacet(start, null)).build()).build();

    try (OpenLineageClient client = Clients.newClient()) {
      System.out.println("transport " + client.getClass().getName());
      for (var type : List.of(OpenLineage.RunEvent.EventType.START, OpenLineage.RunEvent.EventType.COMPLETE)) {
        client.emit(ol.newRunEventBuilder()
            .eventType(type)
            .eventTime(type == OpenLineage.RunEvent.EventType.START ? start : start.plusSeconds(90))
            .run(run).job(job).inputs(List.of(input)).outputs(List.of(output))
            .build());
      }
      client.emit(ol.newDatasetEventBuilder().eventTime(start)
          .dataset(ol.newStaticDatasetBuilder().namespace(dsNs).name("static_table")
              .facets(ol.newDatasetFacetsBuilder().schema(ol.newSchemaDatasetFacet(fields)).build()).build())
          .build());
      client.emit(ol.newJobEventBuilder().eventTime(start)
          .job(ol.newJobBuilder().namespace(ns).name("java_declared").build())
          .inputs(List.of(input)).outputs(List.of(output))
          .build());
    }
    System.out.println("emitted 4");
  }
}
