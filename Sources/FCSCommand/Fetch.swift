import ArgumentParser

/// `fcs fetch [MODEL]`
struct Fetch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Download a model from the Hugging Face hub into its cache (resumable, checksum-verified).",
        discussion: """
            Files go where huggingface_hub puts them (HF_HUB_CACHE, HF_HOME/hub or ~/.cache/huggingface/hub), \
            so diffusers and fcs share them; files already there are not fetched again. HF_ENDPOINT changes the \
            server, HF_TOKEN authenticates.
            """
    )

    @Argument(help: "The model's hub name.") var model = SamplingOptions.defaultModel
    @Option(help: "Branch, tag or commit.") var revision = "main"

    func run() throws {
        print("fetched \(model) into \(try fetch(model, revision: revision))")
    }
}

/// Downloads a hub model with a progress bar per file; returns its snapshot folder.
func fetch(_ model: String, revision: String = "main") throws -> String {
    var download = HubDownload(repository: model)
    download.revision = revision
    var bars: [String: ProgressReporter] = [:]
    return try download.run { file, done, total in
        let bar = bars[file] ?? ProgressReporter(label: file, units: .bytes)
        bars[file] = bar
        bar.report(step: Int(done), total: Int(total))
    }
}
