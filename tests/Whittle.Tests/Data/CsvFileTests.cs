using Whittle.Data;

namespace Whittle.Tests.Data;

public class CsvFileTests
{
    [Fact]
    public void Header_is_detected_and_string_labels_map_to_sorted_indices()
    {
        using var dir = new TempDirectory();
        string path = dir.WriteText("iris.csv",
            "sepal_length,sepal_width,species\n" +
            "5.1,3.5,setosa\n" +
            "6.3,2.9,virginica\n" +
            "\n" +
            "5.9,3.0,versicolor\n" +
            "4.9,3.0,setosa\n");

        TensorDataset data = CsvFile.Load(path);

        Assert.Equal(4, data.Count);
        Assert.Equal([2], data.SampleShape);
        Assert.Equal(["setosa", "versicolor", "virginica"], data.ClassNames);
        Assert.Equal([0, 2, 1, 0], data.Labels.ToArray());
        Assert.Equal([6.3f, 2.9f], data.GetFeatures(1).ToArray());
    }

    [Fact]
    public void Integer_labels_are_class_indices_without_a_header()
    {
        using var dir = new TempDirectory();
        string path = dir.WriteText("d.csv", "1,2,0\n3,4,2\n5,6,1.0\n");

        TensorDataset data = CsvFile.Load(path);

        Assert.Equal(3, data.Count);
        Assert.Equal([0, 2, 1], data.Labels.ToArray());
        Assert.Equal(3, data.ClassCount);
        Assert.Equal([1f, 2f], data.GetFeatures(0).ToArray());
    }

    [Fact]
    public void Negative_integer_labels_become_numerically_sorted_classes()
    {
        using var dir = new TempDirectory();
        string path = dir.WriteText("svm.csv", "0.5,1\n0.1,-1\n0.7,1\n");

        TensorDataset data = CsvFile.Load(path);

        Assert.Equal(["-1", "1"], data.ClassNames);
        Assert.Equal([1, 0, 1], data.Labels.ToArray());
    }

    [Fact]
    public void Label_column_by_name_or_index_with_another_delimiter()
    {
        using var dir = new TempDirectory();
        string path = dir.WriteText("d.csv", "class;a;b\ncat;1;2\ndog;3;4\n");

        TensorDataset byName = CsvFile.Load(path, new CsvOptions(';', labelColumn: CsvLabelColumn.Named("class")));
        TensorDataset byIndex = CsvFile.Load(path, new CsvOptions(';', CsvHeader.Present, CsvLabelColumn.At(0)));

        foreach (TensorDataset data in new[] { byName, byIndex })
        {
            Assert.Equal(["cat", "dog"], data.ClassNames);
            Assert.Equal([3f, 4f], data.GetFeatures(1).ToArray());
        }
    }

    [Fact]
    public void Without_a_label_column_every_column_is_a_feature()
    {
        using var dir = new TempDirectory();
        string path = dir.WriteText("x.csv", "1,2,3\n4,5,6\n");

        TensorDataset data = CsvFile.Load(path, new CsvOptions(labelColumn: CsvLabelColumn.None));

        Assert.False(data.HasLabels);
        Assert.Equal([3], data.SampleShape);
        Assert.Equal([4f, 5f, 6f], data.GetFeatures(1).ToArray());
    }

    [Fact]
    public void Quoted_cells_may_contain_the_delimiter()
    {
        using var dir = new TempDirectory();
        string path = dir.WriteText("q.csv", "x,label\n1.5,\"big, \"\"red\"\"\"\n2.5,small\n");

        TensorDataset data = CsvFile.Load(path);

        Assert.Equal(["big, \"red\"", "small"], data.ClassNames);
    }

    [Fact]
    public void Non_numeric_cell_error_names_file_line_and_column()
    {
        using var dir = new TempDirectory();
        string path = dir.WriteText("bad.csv", "a,b,label\n1,2,x\n3,oops,y\n");

        var error = Assert.Throws<DataFormatException>(() => CsvFile.Load(path));

        Assert.Equal(3, error.Line);
        Assert.Equal(path, error.FilePath);
        Assert.Contains($"{path}, line 3:", error.Message);
        Assert.Contains("column 2 ('b')", error.Message);
        Assert.Contains("'oops'", error.Message);
    }

    [Fact]
    public void Wrong_column_count_error_gives_the_line_number()
    {
        using var dir = new TempDirectory();
        string path = dir.WriteText("bad.csv", "1,2,0\n3,4,1\n\n5,6\n");

        var error = Assert.Throws<DataFormatException>(() => CsvFile.Load(path));

        Assert.Equal(4, error.Line);
        Assert.Contains("2 columns, expected 3", error.Message);
    }

    [Fact]
    public void Empty_cells_and_nan_are_rejected()
    {
        using var dir = new TempDirectory();
        string empty = dir.WriteText("empty.csv", "1,2,0\n,4,1\n");
        string nan = dir.WriteText("nan.csv", "1,2,0\nNaN,4,1\n");

        Assert.Contains("empty", Assert.Throws<DataFormatException>(() => CsvFile.Load(empty)).Message);
        Assert.Contains("'NaN'", Assert.Throws<DataFormatException>(() => CsvFile.Load(nan)).Message);
    }

    [Fact]
    public void Unknown_label_column_name_lists_the_header()
    {
        using var dir = new TempDirectory();
        string path = dir.WriteText("d.csv", "a,b\n1,2\n");

        var error = Assert.Throws<DataFormatException>(() =>
            CsvFile.Load(path, new CsvOptions(labelColumn: CsvLabelColumn.Named("target"))));

        Assert.Contains("'target'", error.Message);
        Assert.Contains("'a', 'b'", error.Message);
    }

    [Fact]
    public void Header_absent_forces_first_row_to_be_data()
    {
        using var dir = new TempDirectory();
        string path = dir.WriteText("d.csv", "a,b,label\n1,2,0\n");

        var error = Assert.Throws<DataFormatException>(() => CsvFile.Load(path, new CsvOptions(header: CsvHeader.Absent)));

        Assert.Equal(1, error.Line);
    }

    [Fact]
    public void Empty_file_and_header_only_are_reported()
    {
        using var dir = new TempDirectory();
        string empty = dir.WriteText("empty.csv", "\n\n");
        string headerOnly = dir.WriteText("header.csv", "a,b,label\n");

        Assert.Contains("empty", Assert.Throws<DataFormatException>(() => CsvFile.Load(empty)).Message);
        Assert.Contains("no data rows", Assert.Throws<DataFormatException>(() => CsvFile.Load(headerOnly)).Message);
    }

    [Fact]
    public void Options_are_validated_when_made()
    {
        Assert.Equal("Delimiter must be neither a quote nor a line break, got '\"'", Assert.Throws<InvalidOptionException>(() => new CsvOptions('"')).Message);
        Assert.Equal("LabelColumn", Assert.Throws<InvalidOptionException>(() => new CsvOptions(header: CsvHeader.Absent, labelColumn: CsvLabelColumn.Named("y"))).Option);
        Assert.Equal("Header must be one of Detect, Present, Absent, got 9", Assert.Throws<InvalidOptionException>(() => new CsvOptions(header: (CsvHeader)9)).Message);
        Assert.Equal("LabelColumn must be zero or positive, got -1", Assert.Throws<InvalidOptionException>(() => CsvLabelColumn.At(-1)).Message);
        Assert.Throws<ArgumentNullException>(() => CsvLabelColumn.Named(null!));
    }
}
